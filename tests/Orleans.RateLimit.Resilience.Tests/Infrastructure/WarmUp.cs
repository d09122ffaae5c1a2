using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// Gets a fresh web node and cluster past their first calls before a test measures anything. The first requests through a
/// new process compile the code of the grain call, its serializers and the limiter's paths, and a fresh silo activates its
/// first grains; on this machine that can take longer than the limiter's 50 ms call timeout and open the circuit.
/// </summary>
internal static class WarmUp
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// A grain call made directly, then requests until one is decided by its grain; the node's metrics then start over.
    /// Returns how often the circuit opened meanwhile.
    /// </summary>
    public static async Task<long> PastFirstCallsAsync(IGrainFactory grains, string limit, LoadGenerator load, NodeMetrics metrics)
    {
        await grains.HitAsync(WebNode.Window(limit, "warm-up"), 0);
        var openings = await UntilGrainsDecideAsync(load, metrics);
        metrics.StartOver();
        return openings;
    }

    /// <summary>
    /// Sends requests of a key of its own until one is decided by its window's owner with the circuit closed; returns how often
    /// the circuit opened meanwhile (a figure worth printing: it is what a node's first requests after a deployment see).
    /// </summary>
    public static async Task<long> UntilGrainsDecideAsync(LoadGenerator load, NodeMetrics metrics)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var memoryDecisions = metrics.MemoryDecisions;
            var outcome = await load.SendAsync("warm-up");
            if (outcome.Admitted && metrics.MemoryDecisions == memoryDecisions && metrics.CircuitOpened == metrics.CircuitClosed)
            {
                return metrics.CircuitOpened;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The node did not decide a request on grains within {Timeout.TotalSeconds} s: {outcome}; {metrics.Describe()}");
            }

            await Task.Delay(200);
        }
    }
}
