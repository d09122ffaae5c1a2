using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.RateLimit.Silo;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// Window state kept in the cluster's memory (no Redis): it survives a grain's deactivation, and it is gone once its window
/// has ended, whether or not the grain ever comes back.
/// </summary>
public sealed class MemoryStorageTests
{
    /// <summary>A one-minute window is written every max(1 s, 60 s / 20).</summary>
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _clock = new(TestClusters.Start);

    private static string WindowKey(string limit) =>
        new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse(limit), "endpoint", Guid.NewGuid().ToString("N")).ToGrainKey();

    [Fact]
    public async Task Count_survives_the_grains_deactivation()
    {
        await using var cluster = await TestClusters.StartAsync(2, _clock);
        var key = WindowKey("10/minute");
        var grain = cluster.FactoryOf(0).GetGrain<IRateLimitWindowGrain>(key);
        Assert.True((await grain.Hit(3)).Allowed);

        await cluster.DeactivateAndWaitAsync(grain);

        Assert.Equal(1, await WindowStateMemoryStorage.CountAsync(cluster.Client));
        Assert.Equal(7, (await cluster.FactoryOf(1).GetGrain<IRateLimitWindowGrain>(key).Stats()).Remaining);
    }

    [Fact]
    public async Task A_window_that_has_ended_is_deleted_when_its_grain_deactivates()
    {
        await using var cluster = await TestClusters.StartAsync(2, _clock);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(WindowKey("10/minute"));
        await grain.Hit(1);
        _clock.Advance(FlushInterval);
        await TestClusters.WaitUntilAsync(async () => await WindowStateMemoryStorage.CountAsync(cluster.Client) == 1, Settle, "the flush timer to write the window");

        // One second after the window ended, one second before its state would expire by itself (2 s of grace).
        _clock.Advance(TimeSpan.FromMinutes(1) - FlushInterval + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await WindowStateMemoryStorage.CountAsync(cluster.Client));
        await cluster.DeactivateAndWaitAsync(grain);

        Assert.Equal(0, await WindowStateMemoryStorage.CountAsync(cluster.Client));
    }

    [Fact]
    public async Task State_that_nobody_reads_again_is_forgotten_just_after_its_window_ends()
    {
        await using var cluster = await TestClusters.StartAsync(2, _clock);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(WindowKey("10/minute"));
        await grain.Hit(1);
        await cluster.DeactivateAndWaitAsync(grain);
        Assert.Equal(1, await WindowStateMemoryStorage.CountAsync(cluster.Client));

        // The window has ended, but the state stays for the grace that absorbs clock differences between silos.
        _clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await WindowStateMemoryStorage.CountAsync(cluster.Client));

        _clock.Advance(WindowStateStoreGrain.SweepInterval);
        await TestClusters.WaitUntilAsync(async () => await WindowStateMemoryStorage.CountAsync(cluster.Client) == 0, Settle, "the sweep to drop the expired state");
        Assert.Equal(10, (await grain.Stats()).Remaining);
    }

    [Fact]
    public async Task Writes_and_deletes_with_another_writers_etag_are_refused_as_inconsistent_state()
    {
        await using var cluster = await TestClusters.StartAsync(1, _clock);
        var storage = StorageOf(cluster);
        var grainId = cluster.Client.GetGrain<IRateLimitWindowGrain>(WindowKey("10/hour")).GetGrainId();
        var first = State(5);
        await storage.WriteStateAsync("w", grainId, first);
        var second = new GrainState<WindowGrainState>(WindowState(6), first.ETag) { RecordExists = true };
        await storage.WriteStateAsync("w", grainId, second);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("w", grainId, new GrainState<WindowGrainState>(WindowState(7), first.ETag)));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("w", grainId, new GrainState<WindowGrainState>(WindowState(0), first.ETag)));

        var read = State(0);
        await storage.ReadStateAsync("w", grainId, read);
        Assert.Equal([6L], read.State!.Counts);
        Assert.Equal(second.ETag, read.ETag);

        await storage.ClearStateAsync("w", grainId, second);
        var cleared = State(0);
        await storage.ReadStateAsync("w", grainId, cleared);
        Assert.False(cleared.RecordExists);
        Assert.Equal(0, await WindowStateMemoryStorage.CountAsync(cluster.Client));
    }

    private static IGrainStorage StorageOf(InProcessTestCluster cluster) =>
        cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(RateLimitGrainOptions.StorageProviderName);

    private GrainState<WindowGrainState> State(long count) => new(WindowState(count));

    private WindowGrainState WindowState(long count) =>
        WindowGrainState.From([new WindowBucket(_clock.GetUtcNow().UtcTicks, count)], _clock.GetUtcNow().AddHours(1));
}
