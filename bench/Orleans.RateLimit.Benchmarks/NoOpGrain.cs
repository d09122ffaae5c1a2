namespace Orleans.RateLimit.Benchmarks;

/// <summary>The cheapest grain call there is, as the baseline for the rate-limit grain's calls.</summary>
[Alias("bench.INoOpGrain")]
public interface INoOpGrain : IGrainWithStringKey
{
    [Alias("Ping")]
    ValueTask<int> Ping(int x);
}

internal sealed class NoOpGrain : Grain, INoOpGrain
{
    public ValueTask<int> Ping(int x) => ValueTask.FromResult(x + 1);
}
