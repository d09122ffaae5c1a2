using System.Diagnostics;
using System.Globalization;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>The managed heap of this process (test, web nodes and silos alike) after a full, finalized collection.</summary>
internal static class ManagedMemory
{
    private const long Settled = 1024 * 1024;

    private static readonly TimeSpan SettleStep = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

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
    public static async Task<long> SettledAsync()
    {
        var waited = Stopwatch.StartNew();
        var previous = Live();
        while (waited.Elapsed < SettleTimeout)
        {
            await Task.Delay(SettleStep);
            var current = Live();
            if (previous - current < Settled)
            {
                return current;
            }

            previous = current;
        }

        return previous;
    }

    public static string Megabytes(long bytes) => (bytes / 1024.0 / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";
}
