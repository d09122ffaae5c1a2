namespace Orleans.RateLimit.Grains;

/// <summary>Carries <see cref="WindowStats"/> across grain calls, so the window math stays free of serializer attributes.</summary>
[GenerateSerializer, Immutable, Alias("orl.WindowStats")]
internal readonly struct WindowStatsSurrogate
{
    [Id(0)]
    public long Remaining { get; init; }

    [Id(1)]
    public DateTimeOffset ResetAt { get; init; }
}
