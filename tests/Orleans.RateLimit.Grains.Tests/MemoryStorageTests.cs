using Microsoft.Extensions.Time.Testing;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// Windows kept in memory (no Redis): they live only in their partition grain, which stays active while its silo runs, and
/// the partition sweeps each window once everything it remembers has expired.
/// </summary>
public sealed class MemoryStorageTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _clock = new(TestClusters.Start);

    [Fact]
    public async Task Windows_stay_in_memory_when_the_silo_collects_idle_activations()
    {
        await using var cluster = await TestClusters.StartAsync(2, _clock);
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/hour");
        Assert.True((await cluster.FactoryOf(0).HitAsync(window, 3)).Allowed);
        var owner = cluster.OwnerOf(window);
        var host = cluster.HostOf(owner);
        Assert.NotNull(host);

        await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        Assert.Same(host, cluster.HostOf(owner));
        Assert.Equal(7, (await cluster.FactoryOf(1).StatsAsync(window)).Remaining);
    }

    [Fact]
    public async Task The_owner_sweeps_windows_once_they_have_expired()
    {
        await using var cluster = await TestClusters.StartAsync(2, _clock);
        var clients = TestWindows.ClientsOfOnePartition(5);
        var windows = clients.Select(c => TestWindows.Of(c, "10/minute")).ToList();
        var owner = cluster.OwnerOf(windows[0]);
        await Task.WhenAll(windows.Select((w, i) => cluster.FactoryOf(i % 2).HitAsync(w, 1 + i).AsTask()));
        Assert.Equal(5, await owner.Count());

        // Sweeps while the windows last keep them.
        await AdvanceAsync(TimeSpan.FromSeconds(50));
        Assert.Equal(5, await owner.Count());
        Assert.Equal(new long[] { 9, 8, 7, 6, 5 }, await RemainingAsync(cluster, windows));

        // The windows end at one minute; the first sweep after that drops them.
        await AdvanceAsync(TimeSpan.FromSeconds(10) + WindowPartitionGrain.SweepInterval);
        await TestClusters.WaitUntilAsync(async () => await owner.Count() == 0, Settle, "the sweep to drop the expired windows");
        Assert.Equal(new long[] { 10, 10, 10, 10, 10 }, await RemainingAsync(cluster, windows));
        Assert.Equal(0, await owner.Count());
    }

    [Fact]
    public async Task A_sweep_keeps_each_window_until_everything_it_remembers_has_expired()
    {
        await using var cluster = await TestClusters.StartAsync(1, _clock);
        var client = Guid.NewGuid().ToString("N");
        var fixedWindow = TestWindows.Of(client, "5/minute");
        var movingWindow = TestWindows.Of(client, "5/minute", RateLimitStrategy.MovingWindow);
        var slidingCounter = TestWindows.Of(client, "5/minute", RateLimitStrategy.SlidingWindowCounter);
        var owner = cluster.OwnerOf(fixedWindow);
        await cluster.Client.HitAsync(fixedWindow);
        await cluster.Client.HitAsync(slidingCounter);
        await AdvanceAsync(TimeSpan.FromSeconds(30));
        await cluster.Client.HitAsync(movingWindow);
        Assert.Equal(3, await owner.Count());

        // At 1 min 10 s the fixed window has ended; the moving window's hit lasts until 1 min 30 s.
        await AdvanceAsync(TimeSpan.FromSeconds(40));
        await TestClusters.WaitUntilAsync(async () => await owner.Count() == 2, Settle, "the sweep to drop the fixed window");
        Assert.Equal(4, (await cluster.Client.StatsAsync(movingWindow)).Remaining);

        // At 1 min 40 s the moving window has ended; the sliding counter still weighs the previous period until 2 min.
        await AdvanceAsync(TimeSpan.FromSeconds(30));
        await TestClusters.WaitUntilAsync(async () => await owner.Count() == 1, Settle, "the sweep to drop the moving window");

        await AdvanceAsync(TimeSpan.FromSeconds(30));
        await TestClusters.WaitUntilAsync(async () => await owner.Count() == 0, Settle, "the sweep to drop the sliding counter");
    }

    [Fact]
    public async Task A_moving_window_hit_again_before_it_ends_outlives_the_sweep()
    {
        await using var cluster = await TestClusters.StartAsync(1, _clock);
        var clients = TestWindows.ClientsOfOnePartition(2);
        var kept = TestWindows.Of(clients[0], "3/minute", RateLimitStrategy.MovingWindow);
        var dropped = TestWindows.Of(clients[1], "3/minute", RateLimitStrategy.MovingWindow);
        var owner = cluster.OwnerOf(kept);
        await cluster.Client.HitAsync(kept);
        await cluster.Client.HitAsync(dropped);

        await AdvanceAsync(TimeSpan.FromSeconds(50));
        await cluster.Client.HitAsync(kept);
        await AdvanceAsync(TimeSpan.FromSeconds(20));

        await TestClusters.WaitUntilAsync(async () => await owner.Count() == 1, Settle, "the sweep to drop the ended window");
        Assert.Equal(2, (await cluster.Client.StatsAsync(kept)).Remaining);
        Assert.Equal(1, await owner.Count());
    }

    /// <summary>Advances the grains' clock one sweep interval at a time, letting each sweep run.</summary>
    private async Task AdvanceAsync(TimeSpan by)
    {
        for (var left = by; left > TimeSpan.Zero; left -= WindowPartitionGrain.SweepInterval)
        {
            _clock.Advance(left < WindowPartitionGrain.SweepInterval ? left : WindowPartitionGrain.SweepInterval);
            await Task.Delay(50);
        }
    }

    private static async Task<long[]> RemainingAsync(InProcessTestCluster cluster, IEnumerable<RateLimitWindowKey> windows) =>
        [.. await Task.WhenAll(windows.Select(async w => (await cluster.Client.StatsAsync(w)).Remaining))];
}
