using Orleans.Concurrency;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// The owner of every window of one <see cref="WindowPartition"/> (keyed by <see cref="WindowPartition.GrainKey"/>): it holds
/// their counters in a dictionary, decides their hits with the shared window math, sweeps windows that have expired, and
/// writes windows longer than the persistence threshold behind to storage in batches. Meta-limit windows, which count a
/// client's breaches, are windows like any other.
/// </summary>
[Alias("orl.IWindowPartitionGrain")]
public interface IWindowPartitionGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Decides <paramref name="calls"/> in order, in one turn of the grain. After a refused call marked
    /// <see cref="WindowCall.StopIfRefused"/>, or a call marked <see cref="WindowCall.StopIfAnyRefused"/> once any call has
    /// refused, the rest are not decided, so the result may be shorter than the calls.
    /// </summary>
    /// <param name="calls">The decisions to make.</param>
    /// <param name="cancellationToken">
    /// Gives up waiting for the answer; a call still queued is then not decided at all, one already running is decided anyway.
    /// </param>
    /// <remarks>Neither the calls nor the decisions are changed after the call, so Orleans passes them without copies.</remarks>
    [Alias("Decide")]
    [return: Immutable]
    ValueTask<WindowDecision[]> Decide([Immutable] WindowCall[] calls, CancellationToken cancellationToken = default);

    /// <summary>
    /// Decides <paramref name="calls"/> as <see cref="Decide"/> does, for the node <paramref name="holder"/>, which may ask for
    /// budgets of hot windows (<see cref="WindowCall.LeaseSequence"/>), refill them (<see cref="WindowOperation.Lease"/>) and
    /// give back what it did not use (<see cref="WindowOperation.Release"/>). Only fixed windows and sliding-window counters
    /// lease; a call for any other window is decided without a grant.
    /// </summary>
    /// <param name="holder">The node: one identity per process, for as long as it runs.</param>
    /// <param name="calls">The decisions to make.</param>
    /// <param name="cancellationToken">As for <see cref="Decide"/>.</param>
    [Alias("DecideForHolder")]
    [return: Immutable]
    ValueTask<WindowDecision[]> DecideFor(Guid holder, [Immutable] WindowCall[] calls, CancellationToken cancellationToken = default);

    /// <summary>Counts one breach in each meta window. One-way, so the request that breached does not wait.</summary>
    [OneWay, Alias("RecordBreaches")]
    Task RecordBreaches([Immutable] WindowRef[] metaWindows);

    /// <summary>Forgets every hit of <paramref name="window"/>, in memory and in storage.</summary>
    [Alias("Clear")]
    ValueTask Clear(WindowRef window);

    /// <summary>How many windows this partition holds in memory; for tests and diagnostics.</summary>
    [ReadOnly, Alias("Count")]
    ValueTask<int> Count();
}
