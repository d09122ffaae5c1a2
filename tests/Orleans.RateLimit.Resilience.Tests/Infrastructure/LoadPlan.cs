namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// A bounded load: <see cref="Requests"/> requests, sent round-robin over <see cref="Keys"/> by <see cref="Concurrency"/> loops,
/// spaced evenly over <see cref="Spread"/>; whatever is not sent by <see cref="Deadline"/> is not sent at all.
/// </summary>
internal sealed record LoadPlan(IReadOnlyList<string> Keys, int Requests, int Concurrency, TimeSpan Spread, TimeSpan Deadline)
{
    /// <summary>Requests one after another as fast as they are answered, within <paramref name="deadline"/>.</summary>
    public static LoadPlan Burst(IReadOnlyList<string> keys, int requests, int concurrency, TimeSpan deadline) =>
        new(keys, requests, concurrency, TimeSpan.Zero, deadline);
}
