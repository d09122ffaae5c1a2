using Orleans.Concurrency;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// A meta limit for one client: counts how many requests of that client breached a limit, and blocks the client once the
/// count reaches the meta limit. Keyed like a window grain, with scope <c>meta</c> and no key prefix.
/// </summary>
[Alias("orl.IMetaLimitGrain")]
public interface IMetaLimitGrain : IGrainWithStringKey
{
    /// <summary>Counts one breach. One-way, so the request that breached does not wait for it.</summary>
    [OneWay, Alias("RecordBreach")]
    Task RecordBreach();

    /// <summary>Whether a request of <paramref name="cost"/> may pass the meta limit now; when not, the stats say until when.</summary>
    [ReadOnly, Alias("Check")]
    ValueTask<WindowDecision> Check(int cost);

    /// <summary>What remains of the meta window now and when it resets.</summary>
    [ReadOnly, Alias("Stats")]
    ValueTask<WindowStats> Stats();

    /// <summary>Forgets every breach.</summary>
    [Alias("Clear")]
    ValueTask Clear();
}
