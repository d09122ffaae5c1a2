using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Where windows are decided. Stores are layered as decorators of this one interface (resilience over the grains, with the
/// in-memory store beside them), and every layer answers with the same <see cref="StoreOutcome"/> per check.
/// </summary>
internal interface IRateLimitStore
{
    /// <summary>
    /// Decides <paramref name="checks"/> in order into <paramref name="outcomes"/>. After a refused check marked
    /// <see cref="WindowCheck.StopIfRefused"/> the rest are not decided.
    /// </summary>
    /// <returns>How many checks were decided, from the first.</returns>
    ValueTask<int> DecideAsync(ReadOnlyMemory<WindowCheck> checks, Memory<StoreOutcome> outcomes);

    /// <summary>Counts one breach against a meta limit, without waiting for it.</summary>
    void RecordBreach(RateLimitWindowKey metaWindow);
}
