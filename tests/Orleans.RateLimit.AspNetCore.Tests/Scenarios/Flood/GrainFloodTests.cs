using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.RateLimit.Silo;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// A flood of unique client keys through two web nodes with embedded silos costs memory only while the windows last: the
/// window grains are collected, their state in the cluster's memory expires, and the heap returns to where it was.
/// </summary>
[Collection(FloodTestGroup.Name)]
public sealed class GrainFloodTests(ITestOutputHelper output) : AdapterTestBase(Backend.Grains)
{
    /// <summary>
    /// Fewer than the 200,000 of the full flood below, because these windows are persisted: every such grain sets a flush
    /// timer on the test's fake clock, which scans all of its timers whenever one is set or fires, so a flood slows down as
    /// it grows (measured: 20,000 in 22 s, 40,000 in 98 s; 200,000 would take most of an hour). The system clock has no
    /// such cost.
    /// </summary>
    private const int Clients = 20_000;

    private const int FullFloodClients = 200_000;

    /// <summary>
    /// Big enough for the buffer pools and Orleans' tables to reach a working size before the baseline is taken.
    /// </summary>
    private const int FullFloodWarmUp = 20_000;

    /// <summary>
    /// What may stay behind once all 200,000 window grains are collected and the directory caches are empty: the tables that
    /// keep the size they grew to at the peak (the grain directory's partition, the catalog's and the activation collector's
    /// dictionaries) and pooled buffers. Measured: 24.1 to 28.4 MB. 64 MB is under a sixth of what the activations take at the
    /// peak (about 2.1 KB each, 410 MB), so leaking a sixth of the grains fails the test.
    /// </summary>
    private const long FullFloodRetainedBound = 64L * 1024 * 1024;

    private static readonly TimeSpan FullFloodTimeout = TimeSpan.FromSeconds(300);

    private const string WindowGrainType = "Orleans.RateLimit.Grains.RateLimitWindowGrain,";

    /// <summary>
    /// What may stay behind once every grain is collected, every state has expired and the directory caches are empty.
    /// Measured: 5.5 to 6.2 MB over four runs, all of it tables that keep the size they grew to at the peak (the grain
    /// directory's partition, the catalog's and the activation collector's dictionaries, the fake clock's timer set) and
    /// pooled buffers. 16 MB is over twice that and a quarter of what the 20,000 activations take at the peak (about 3 KB
    /// each), so leaking the grains fails the test; leaked window state and cached addresses are caught exactly, by counting.
    /// </summary>
    private const long RetainedBound = 16L * 1024 * 1024;

    /// <summary>
    /// Orleans' directory cache forgets an unused grain's address after this long (240 s by default), on Orleans' own clock,
    /// which the fake clock does not move; shortened so that the cache empties while the test waits.
    /// </summary>
    private static readonly TimeSpan DirectoryCacheTtl = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan FloodTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(60);

    /// <summary>A one-minute window is written every max(1 s, 60 s / 20).</summary>
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Windows_of_20_000_unique_clients_are_collected_and_forgotten_after_they_end_and_their_memory_returns()
    {
        await using var app = await StartFloodAppAsync("10/minute");
        using var directoryCache = new DirectoryCacheProbe();
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var management = grains.GetGrain<IManagementGrain>(0);

        // One whole cycle first, big enough for the buffer pools to reach their working size (a smaller one leaves the
        // baseline up to 7 MB lower, at random), so that the baseline holds no window but everything the flood reuses.
        await FloodAndForgetAsync(app, grains, management, "warm-", 4_000);
        var baseline = await ManagedMemory.SettledAsync(output.WriteLine);

        var took = await UniqueKeyFlood.RunAsync(app.Nodes, "/flood", "client-", Clients, FloodTimeout);
        var peakActivations = await WindowActivationsAsync(management);
        var peak = ManagedMemory.Live();
        Assert.Equal(Clients, peakActivations);

        app.Clock.Advance(FlushInterval);
        await WaitUntilAsync(async () => await WindowStateMemoryStorage.CountAsync(grains) == Clients, "every window to be written");

        // Collected while their windows still run, the grains leave their state behind: nothing but its expiry removes it.
        await CollectWindowGrainsAsync(management);
        Assert.Equal(Clients, await WindowStateMemoryStorage.CountAsync(grains));
        var collected = ManagedMemory.Live();

        app.Clock.Advance(TimeSpan.FromMinutes(1) + WindowStateStoreGrain.SweepInterval);
        await WaitUntilAsync(async () => await WindowStateMemoryStorage.CountAsync(grains) == 0, "every expired window state to be swept");

        // The directory caches still hold the addresses of the store grains the test just counted through; once those are
        // forgotten, no cached address is left of the flood either.
        await DirectoryCachesEmptyAsync(directoryCache, "every address");
        var after = ManagedMemory.Live();

        output.WriteLine($"flood: {Clients} requests, one per client, over both nodes in {took.TotalSeconds:F1} s ({Clients / took.TotalSeconds:F0} requests/s)");
        output.WriteLine($"baseline {ManagedMemory.Megabytes(baseline)}, peak {ManagedMemory.Megabytes(peak)} with {peakActivations} window grains");
        output.WriteLine($"per activation {(peak - baseline) / Clients} bytes; per window state held after collection {(collected - baseline) / Clients} bytes");
        output.WriteLine($"after expiry {ManagedMemory.Megabytes(after)}; retained {after - baseline} bytes (bound {RetainedBound})");
        Assert.True(after - baseline < RetainedBound, $"{after - baseline} bytes stayed behind after every window grain was collected and its state expired; the bound is {RetainedBound}.");
    }

    /// <summary>
    /// The full flood of 200,000 clients, on windows short enough to be held in memory only (a window of up to
    /// <see cref="Grains.RateLimitGrainOptions.PersistenceThreshold"/> is never written), so that no grain sets a timer on the
    /// fake clock: what is measured is the activations themselves, their collection, and what Orleans keeps of them after.
    /// </summary>
    [Fact]
    public async Task Window_grains_of_200_000_unique_clients_are_collected_and_their_memory_returns()
    {
        await using var app = await StartFloodAppAsync("10/second");
        using var directoryCache = new DirectoryCacheProbe();
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var management = grains.GetGrain<IManagementGrain>(0);

        await UniqueKeyFlood.RunAsync(app.Nodes, "/flood", "warm-", FullFloodWarmUp, FloodTimeout);
        await CollectWindowGrainsAsync(management);
        await DirectoryCachesEmptyAsync(directoryCache, "the warm-up");
        var baseline = await ManagedMemory.SettledAsync(output.WriteLine);

        var took = await UniqueKeyFlood.RunAsync(app.Nodes, "/flood", "client-", FullFloodClients, FullFloodTimeout);
        var peakActivations = await WindowActivationsAsync(management);
        var peak = ManagedMemory.Live();
        Assert.Equal(FullFloodClients, peakActivations);
        Assert.Equal(0, await WindowStateMemoryStorage.CountAsync(grains));

        var collection = Stopwatch.StartNew();
        await CollectWindowGrainsAsync(management);
        collection.Stop();
        await DirectoryCachesEmptyAsync(directoryCache, "every address");
        var after = ManagedMemory.Live();

        output.WriteLine($"flood: {FullFloodClients} requests, one per client, over both nodes in {took.TotalSeconds:F1} s ({FullFloodClients / took.TotalSeconds:F0} requests/s)");
        output.WriteLine($"baseline {ManagedMemory.Megabytes(baseline)}, peak {ManagedMemory.Megabytes(peak)} with {peakActivations} window grains ({(peak - baseline) / FullFloodClients} bytes each)");
        output.WriteLine($"collecting them took {collection.Elapsed.TotalSeconds:F1} s; after collection {ManagedMemory.Megabytes(after)}; retained {after - baseline} bytes (bound {FullFloodRetainedBound})");
        Assert.True(after - baseline < FullFloodRetainedBound, $"{after - baseline} bytes stayed behind after every window grain was collected; the bound is {FullFloodRetainedBound}.");
    }

    /// <summary>Two web nodes with embedded silos and one endpoint limited per <see cref="UniqueKeyFlood.Header"/>.</summary>
    private Task<TestApp> StartFloodAppAsync(string limit) =>
        StartAsync(
            null,
            a => a.MapGet("/flood", () => "ok").RateLimit(limit, l => l.KeySelector(KeySelectors.Header(UniqueKeyFlood.Header))),
            b => b.Services.Configure<GrainDirectoryOptions>(o => o.MaximumCacheTTL = DirectoryCacheTtl));

    private static Task DirectoryCachesEmptyAsync(DirectoryCacheProbe directoryCache, string what) =>
        WaitUntilAsync(() => Task.FromResult(directoryCache.Entries() == 0), "the directory caches to forget " + what, 2 * DirectoryCacheTtl + SettleTimeout);

    /// <summary>Floods with <paramref name="count"/> clients and takes their windows through writing, collection and expiry.</summary>
    private static async Task FloodAndForgetAsync(TestApp app, IGrainFactory grains, IManagementGrain management, string prefix, int count)
    {
        await UniqueKeyFlood.RunAsync(app.Nodes, "/flood", prefix, count, FloodTimeout);
        app.Clock.Advance(FlushInterval);
        await WaitUntilAsync(async () => await WindowStateMemoryStorage.CountAsync(grains) == count, "the warm-up windows to be written");
        await CollectWindowGrainsAsync(management);
        app.Clock.Advance(TimeSpan.FromMinutes(1) + WindowStateStoreGrain.SweepInterval);
        await WaitUntilAsync(async () => await WindowStateMemoryStorage.CountAsync(grains) == 0, "the warm-up windows to expire");
    }

    /// <summary>
    /// Forces collection until no window grain is left. One pass skips a grain still finishing a turn (its last write), which
    /// the next pass collects; left alone, it would wait for the collection age.
    /// </summary>
    private static Task CollectWindowGrainsAsync(IManagementGrain management) =>
        WaitUntilAsync(
            async () =>
            {
                await management.ForceActivationCollection(TimeSpan.Zero);
                return await WindowActivationsAsync(management) == 0;
            },
            "every window grain to be collected");

    private static async Task<int> WindowActivationsAsync(IManagementGrain management) =>
        (await management.GetSimpleGrainStatistics())
            .Where(statistic => statistic.GrainType.StartsWith(WindowGrainType, StringComparison.Ordinal))
            .Sum(statistic => statistic.ActivationCount);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, bool throwOnTimeout = true)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > (timeout ?? SettleTimeout))
            {
                if (throwOnTimeout)
                {
                    throw new TimeoutException($"Timed out after {waited.Elapsed.TotalSeconds:F0} s waiting for {what}.");
                }

                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }
}
