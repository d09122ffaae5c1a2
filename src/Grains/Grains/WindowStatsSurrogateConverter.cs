namespace Orleans.RateLimit.Grains;

[RegisterConverter]
internal sealed class WindowStatsSurrogateConverter : IConverter<WindowStats, WindowStatsSurrogate>
{
    public WindowStats ConvertFromSurrogate(in WindowStatsSurrogate surrogate) => new(surrogate.Remaining, surrogate.ResetAt);

    public WindowStatsSurrogate ConvertToSurrogate(in WindowStats value) => new() { Remaining = value.Remaining, ResetAt = value.ResetAt };
}
