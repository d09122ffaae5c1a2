using System.Diagnostics;
using System.Globalization;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>The managed heap of this process (test, web nodes and silos alike) after a full, finalized collection.</summary>
internal static class ManagedMemory
{
    private const long Settled = 1024 * 1024;

    /// <summary>
    /// Steps in a row without shrinking. One was not enough: a flood test's disposed nodes released 30 MB more in the next
    /// test, after the heap had held still for one step.
    /// </summary>
    private const int StableStepsNeeded = 3;

    private static readonly TimeSpan SettleStep = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(60);

    public static long Live()
    {
        // Finalizers can hold on to what a first collection found dead; a second collection after them frees it.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>
    /// The live heap once it has stopped shrinking. The nodes and silos of the tests that ran before let go of their memory
    /// only seconds after they stopped (measured: 500 MB, gone 10 s after the last of them), and a baseline taken before
    /// that would make every later figure meaningless.
    /// </summary>
    public static async Task<long> SettledAsync(Action<string>? report = null)
    {
        var waited = Stopwatch.StartNew();
        var previous = Live();
        var stableSteps = 0;
        while (waited.Elapsed < SettleTimeout)
        {
            await Task.Delay(SettleStep);
            var current = Live();
            stableSteps = previous - current < Settled ? stableSteps + 1 : 0;
            previous = current;
            if (stableSteps == StableStepsNeeded)
            {
                break;
            }
        }

        report?.Invoke($"the heap settled at {Megabytes(previous)} after {waited.Elapsed.TotalSeconds:F0} s");
        return previous;
    }

    public static string Megabytes(long bytes) => (bytes / 1024.0 / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";
}
