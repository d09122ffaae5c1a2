using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Xunit.Abstractions;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>A flood of unique client keys over real HTTP costs the in-process store memory only while the windows last.</summary>
[Collection(FloodTestGroup.Name)]
public sealed class MemoryFloodTests(ITestOutputHelper output) : AdapterTestBase(Backend.Memory)
{
    private const int Clients = 200_000;

    /// <summary>
    /// What may stay behind once every window is swept. Measured: 2.8 to 3.0 MB, the store's table (it keeps the size it grew
    /// to, about 15 bytes per window of the peak) and pooled buffers. 16 MB is five times that and under a third of what the
    /// 200,000 windows take (about 270 bytes each), so a leak of a third of them fails the test; a leak of the windows
    /// themselves is caught exactly by the count.
    /// </summary>
    private const long RetainedBound = 16L * 1024 * 1024;

    /// <summary>The store's sweep interval: advancing the clock by it runs one sweep.</summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan FloodTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Windows_of_200_000_unique_clients_are_swept_after_they_end_and_their_memory_returns()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/flood", () => "ok").RateLimit("10/minute", l => l.KeySelector(KeySelectors.Header(UniqueKeyFlood.Header))));
        var store = new MemoryStoreProbe(app.Services);

        // Warm up JIT, connections and buffer pools, then let those windows end, so that the baseline holds no window.
        await UniqueKeyFlood.RunAsync(app.Nodes, "/flood", "warm-", 2_000, FloodTimeout);
        app.Clock.Advance(TimeSpan.FromMinutes(1) + SweepInterval);
        Assert.Equal(0, store.Count);
        var baseline = await ManagedMemory.SettledAsync();

        var took = await UniqueKeyFlood.RunAsync(app.Nodes, "/flood", "client-", Clients, FloodTimeout);
        Assert.Equal(Clients, store.Count);
        var peak = ManagedMemory.Live();

        // The first sweep after the flood finds every window still running and keeps them all.
        var sweep = Stopwatch.StartNew();
        app.Clock.Advance(SweepInterval);
        sweep.Stop();
        Assert.Equal(Clients, store.Count);

        // The windows end one minute after their first hit; the sweep after that drops every one of them.
        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, store.Count);
        var after = ManagedMemory.Live();

        output.WriteLine($"flood: {Clients} requests, one per client, in {took.TotalSeconds:F1} s ({Clients / took.TotalSeconds:F0} requests/s)");
        output.WriteLine($"baseline {ManagedMemory.Megabytes(baseline)}, peak {ManagedMemory.Megabytes(peak)} with {Clients} windows, after the sweep {ManagedMemory.Megabytes(after)}");
        output.WriteLine($"per window {(peak - baseline) / Clients} bytes; retained after the sweep {after - baseline} bytes (bound {RetainedBound})");
        output.WriteLine($"a sweep over {Clients} running windows took {sweep.Elapsed.TotalMilliseconds:F1} ms");
        Assert.True(after - baseline < RetainedBound, $"{after - baseline} bytes stayed behind after every window was swept; the bound is {RetainedBound}.");
    }
}
