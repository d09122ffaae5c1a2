using Orleans.Concurrency;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// One rate-limit window, keyed by <see cref="RateLimitWindowKey.ToGrainKey"/>. The grain rolls its own windows over time;
/// its counters live in memory and, for windows longer than the persistence threshold, are written behind to grain storage.
/// </summary>
[Alias("orl.IRateLimitWindowGrain")]
public interface IRateLimitWindowGrain : IGrainWithStringKey
{
    /// <summary>Spends <paramref name="cost"/> units now if the limit allows it.</summary>
    [Alias("Hit")]
    ValueTask<WindowDecision> Hit(int cost);

    /// <summary>Whether <paramref name="cost"/> units could be spent now, without spending them.</summary>
    [ReadOnly, Alias("Test")]
    ValueTask<WindowDecision> Test(int cost);

    /// <summary>What remains of the window now and when it resets.</summary>
    [ReadOnly, Alias("Stats")]
    ValueTask<WindowStats> Stats();

    /// <summary>Forgets every hit, in memory and in storage.</summary>
    [Alias("Clear")]
    ValueTask Clear();
}
