using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Windows longer than the persistence threshold are written behind to Redis and outlive their partition's activation.</summary>
public sealed class RedisPersistenceTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _clock = new(TestClusters.Start);

    private Action<RateLimitGrainOptions> UseRedis(TimeSpan? expiryGrace = null) => options =>
    {
        options.RedisConnectionString = redis.ConnectionString;
        options.ExpiryGrace = expiryGrace ?? options.ExpiryGrace;
    };

    private static string NewServiceId(string purpose) => purpose + "-" + Guid.NewGuid().ToString("N");

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task Counts_survive_the_partitions_deactivation(RateLimitStrategy strategy)
    {
        await using var cluster = await TestClusters.StartAsync(2, _clock, UseRedis());
        var window = TestWindows.Unique(strategy, "10/minute");
        Assert.True((await cluster.FactoryOf(0).HitAsync(window, 3)).Allowed);

        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(window));

        Assert.Equal(7, (await cluster.FactoryOf(1).StatsThroughHitAsync(window)).Remaining);
    }

    [Fact]
    public async Task Counts_survive_a_restart_of_the_silo_that_held_the_partition()
    {
        await using var cluster = await TestClusters.StartAsync(2, _clock, UseRedis());
        var (window, owner) = await WindowOwnedByAsync(cluster, cluster.Silos[1]);
        Assert.Equal(6, (await cluster.Client.HitAsync(window, 4)).Stats.Remaining);

        await cluster.StopSiloAsync(cluster.Silos[1]);
        Assert.Null(cluster.HostOf(owner));

        Assert.Equal(6, (await cluster.Client.StatsThroughHitAsync(window)).Remaining);
        Assert.Same(cluster.Silos[0], cluster.HostOf(owner));
        Assert.Equal(5, (await cluster.Client.HitAsync(window)).Stats.Remaining);
    }

    [Fact]
    public async Task Counts_survive_a_whole_cluster_restart()
    {
        var serviceId = NewServiceId("restart");
        var clients = TestWindows.ClientsOfOnePartition(3);
        var windows = new[]
        {
            TestWindows.Of(clients[0], "10/hour"),
            TestWindows.Of(clients[1], "10/hour", RateLimitStrategy.MovingWindow),
            TestWindows.Of(clients[2], "10/hour", RateLimitStrategy.SlidingWindowCounter),
            TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/day"),
        };
        await using (var first = await TestClusters.StartAsync(2, _clock, UseRedis(), serviceId))
        {
            for (var i = 0; i < windows.Length; i++)
            {
                Assert.True((await first.FactoryOf(i % 2).HitAsync(windows[i], 1 + i)).Allowed);
            }
        }

        await using var second = await TestClusters.StartAsync(2, _clock, UseRedis(), serviceId);

        Assert.Equal(new WindowStats(9, _clock.GetUtcNow().AddHours(1)), await second.Client.StatsThroughHitAsync(windows[0]));
        Assert.Equal(8, (await second.FactoryOf(1).StatsThroughHitAsync(windows[1])).Remaining);
        Assert.Equal(7, (await second.Client.StatsThroughHitAsync(windows[2])).Remaining);
        Assert.Equal(new WindowStats(6, _clock.GetUtcNow().AddDays(1)), await second.Client.StatsThroughHitAsync(windows[3]));
    }

    [Fact]
    public async Task Windows_of_ten_seconds_or_less_are_not_written_to_redis()
    {
        var serviceId = NewServiceId("short");
        var client = Guid.NewGuid().ToString("N");
        var short10 = TestWindows.Of(client, "5/10 seconds");
        var short1 = TestWindows.Of(client, "5/second", RateLimitStrategy.MovingWindow);
        var longer = TestWindows.Of(client, "5/11 seconds");
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);
        foreach (var window in new[] { short10, short1, longer })
        {
            await cluster.Client.HitAsync(window, 2);
        }

        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(longer));

        Assert.Equal(2, await StoredCounts.ReadAsync(redis.Database, serviceId, longer));
        Assert.False(await StoredCounts.ExistsAsync(redis.Database, serviceId, short10));
        Assert.False(await StoredCounts.ExistsAsync(redis.Database, serviceId, short1));
        Assert.Equal(5, (await cluster.Client.StatsThroughHitAsync(short10)).Remaining);
        Assert.Equal(5, (await cluster.Client.StatsThroughHitAsync(short1)).Remaining);
        Assert.Equal(3, (await cluster.Client.StatsThroughHitAsync(longer)).Remaining);
    }

    [Fact]
    public async Task Dirty_windows_are_written_behind_on_the_flush_timer_not_per_hit()
    {
        var serviceId = NewServiceId("flush");
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "100/minute");
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);

        for (var i = 0; i < 20; i++)
        {
            await cluster.Client.HitAsync(window);
        }

        // A 1-minute window is written 3 s (a twentieth of its period) after it changed, not before.
        _clock.Advance(TimeSpan.FromSeconds(2));
        await Task.Delay(200);
        Assert.False(await StoredCounts.ExistsAsync(redis.Database, serviceId, window));

        _clock.Advance(TimeSpan.FromSeconds(1));
        await TestClusters.WaitUntilAsync(
            () => StoredCounts.ExistsAsync(redis.Database, serviceId, window), Bound, "the flush timer to write the window");
        Assert.Equal(20, await StoredCounts.ReadAsync(redis.Database, serviceId, window));
    }

    [Fact]
    public async Task One_flush_writes_every_due_window_of_a_partition_in_one_round_trip()
    {
        var serviceId = NewServiceId("batch");
        var counters = new List<CountingPartitionStorage>();
        var windows = TestWindows.ClientsOfOnePartition(40).Select(c => TestWindows.Of(c, "100/minute")).ToList();
        await using var cluster = await TestClusters.StartAsync(
            1, _clock, UseRedis(), serviceId, services: s => CountingPartitionStorage.AddTo(s, counters));
        using var metrics = new MetricRecorder(cluster);
        await Task.WhenAll(windows.Select((w, i) => cluster.Client.HitAsync(w, 1 + (i % 7)).AsTask()));

        _clock.Advance(TimeSpan.FromSeconds(3));
        await TestClusters.WaitUntilAsync(
            () => Task.FromResult(metrics["orleans_ratelimit.window.writes"] == 40), Bound, "the flush to write the windows");

        var counter = Assert.Single(counters);
        Assert.Equal([40], counter.WriteBatches);
        for (var i = 0; i < windows.Count; i++)
        {
            Assert.Equal(1 + (i % 7), await StoredCounts.ReadAsync(redis.Database, serviceId, windows[i]));
        }
    }

    [Fact]
    public async Task A_flush_carries_at_most_2000_windows_and_the_rest_go_at_the_next_tick()
    {
        var serviceId = NewServiceId("cap");
        var counters = new List<CountingPartitionStorage>();
        var client = Guid.NewGuid().ToString("N");
        var windows = Enumerable.Range(0, 2_500).Select(i => TestWindows.Of(client, "100/minute", scope: $"s{i}")).ToList();
        await using var cluster = await TestClusters.StartAsync(
            1, _clock, UseRedis(), serviceId, services: s => CountingPartitionStorage.AddTo(s, counters));
        using var metrics = new MetricRecorder(cluster);
        await cluster.Client.GetWindowOwner(windows[0]).Decide(
            [.. windows.Select(w => new WindowCall(new WindowRef(w), WindowOperation.Hit, 1, StopIfRefused: false))]);

        _clock.Advance(TimeSpan.FromSeconds(3));
        await TestClusters.WaitUntilAsync(
            () => Task.FromResult(metrics["orleans_ratelimit.window.writes"] == 2_000), Bound, "the first flush to write 2,000 windows");
        _clock.Advance(TimeSpan.FromSeconds(1));
        await TestClusters.WaitUntilAsync(
            () => Task.FromResult(metrics["orleans_ratelimit.window.writes"] == 2_500), Bound, "the next flush to write the rest");

        Assert.Equal([2_000, 500], Assert.Single(counters).WriteBatches);
        Assert.Equal(1, await StoredCounts.ReadAsync(redis.Database, serviceId, windows[^1]));
    }

    [Fact]
    public async Task A_partition_loads_its_windows_once_when_it_activates_not_per_window()
    {
        var serviceId = NewServiceId("load");
        var counters = new List<CountingPartitionStorage>();
        var windows = TestWindows.ClientsOfOnePartition(25).Select(c => TestWindows.Of(c, "100/hour")).ToList();
        var partition = TestWindows.PartitionOf(windows[0]);
        var elsewhere = Enumerable.Range(0, 100)
            .Select(_ => TestWindows.Unique(RateLimitStrategy.FixedWindow, "100/hour"))
            .First(w => TestWindows.PartitionOf(w) != partition);
        await using var cluster = await TestClusters.StartAsync(
            1, _clock, UseRedis(), serviceId, services: s => CountingPartitionStorage.AddTo(s, counters));

        for (var i = 0; i < windows.Count; i++)
        {
            await cluster.Client.HitAsync(windows[i], 1 + i);
        }

        var counter = Assert.Single(counters);
        Assert.Equal([partition], counter.Loads);
        await cluster.Client.HitAsync(elsewhere);
        Assert.Equal(2, counter.Loads.Count);

        // Activated again, the partition loads every stored window in one round trip and each new window finds its counts there.
        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(windows[0]));
        for (var i = 0; i < windows.Count; i++)
        {
            Assert.Equal(100 - 1 - i, (await cluster.Client.HitAsync(windows[i], 0)).Stats.Remaining);
        }

        Assert.Equal([partition, partition], counter.Loads.Where(p => p == partition));
        Assert.Equal(3, counter.Loads.Count);
    }

    [Fact]
    public async Task Rejected_hits_that_change_nothing_cause_no_writes()
    {
        var serviceId = NewServiceId("rejected");
        var window = TestWindows.Unique(RateLimitStrategy.MovingWindow, "2/minute");
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);
        using var metrics = new MetricRecorder(cluster);
        await cluster.Client.HitAsync(window, 2);
        _clock.Advance(TimeSpan.FromSeconds(3));
        await TestClusters.WaitUntilAsync(() => Task.FromResult(metrics["orleans_ratelimit.window.writes"] == 1), Bound, "the first write");

        for (var i = 0; i < 50; i++)
        {
            Assert.False((await cluster.Client.HitAsync(window)).Allowed);
        }

        _clock.Advance(TimeSpan.FromSeconds(3));
        _clock.Advance(TimeSpan.FromSeconds(3));

        // A counted hit, as a control: its write must be the second, so the rejected hits wrote nothing.
        _clock.Advance(TimeSpan.FromSeconds(60));
        Assert.True((await cluster.Client.HitAsync(window)).Allowed);
        _clock.Advance(TimeSpan.FromSeconds(3));
        await TestClusters.WaitUntilAsync(() => Task.FromResult(metrics["orleans_ratelimit.window.writes"] >= 2), Bound, "the control write");
        Assert.Equal(2, metrics["orleans_ratelimit.window.writes"]);
        Assert.Equal(1, await StoredCounts.ReadAsync(redis.Database, serviceId, window));
    }

    [Fact]
    public async Task The_partitions_redis_keys_expire_just_after_its_last_window()
    {
        var serviceId = NewServiceId("expiry");
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "3/12 seconds");
        var hash = StoredWindowKeys.PartitionOf(serviceId, window);
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(expiryGrace: TimeSpan.FromMilliseconds(500)), serviceId);
        await cluster.Client.HitAsync(window);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await cluster.Client.HitAsync(window);

        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(window));

        // The window started 1 s before the write and lasts 12 s: 11 s left plus 0.5 s of grace.
        var timeToLive = await redis.Database.KeyTimeToLiveAsync(hash);
        Assert.NotNull(timeToLive);
        Assert.InRange(timeToLive.Value, TimeSpan.FromSeconds(10.5), TimeSpan.FromSeconds(11.5));
        await TestClusters.WaitUntilAsync(
            async () => !await redis.Database.KeyExistsAsync(hash), TimeSpan.FromSeconds(20), "Redis to expire the partition's keys");
    }

    [Fact]
    public async Task A_cleared_window_deletes_its_record()
    {
        var serviceId = NewServiceId("clear");
        var clients = TestWindows.ClientsOfOnePartition(2);
        var cleared = TestWindows.Of(clients[0], "3/hour");
        var kept = TestWindows.Of(clients[1], "3/hour");
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);
        await cluster.Client.HitAsync(cleared, 3);
        await cluster.Client.HitAsync(kept, 2);
        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(cleared));
        Assert.Equal(3, await StoredCounts.ReadAsync(redis.Database, serviceId, cleared));

        await cluster.Client.ClearAsync(cleared);

        Assert.False(await StoredCounts.ExistsAsync(redis.Database, serviceId, cleared));
        Assert.Equal(2, await StoredCounts.ReadAsync(redis.Database, serviceId, kept));
        Assert.Equal(3, (await cluster.Client.StatsAsync(cleared)).Remaining);
        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(cleared));
        Assert.Equal(3, (await cluster.Client.StatsThroughHitAsync(cleared)).Remaining);
        Assert.Equal(1, (await cluster.Client.StatsThroughHitAsync(kept)).Remaining);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task A_write_conflict_between_two_activations_loses_no_hits(RateLimitStrategy strategy)
    {
        // Two clusters sharing a service id and Redis but not membership: each holds its own activation of one partition,
        // as two silos can for a moment while a cluster churns.
        var serviceId = NewServiceId("conflict");
        var window = TestWindows.Unique(strategy, "100/hour");
        await using var left = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId, clusterId: "left");
        await using var right = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId, clusterId: "right");
        using var rightMetrics = new MetricRecorder(right);
        Assert.Equal(100, (await left.Client.StatsAsync(window)).Remaining);
        Assert.Equal(100, (await right.Client.StatsAsync(window)).Remaining);

        await left.Client.HitAsync(window, 3);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await right.Client.HitAsync(window, 4);
        await left.DeactivateAndWaitAsync(left.OwnerOf(window));
        await right.Client.HitAsync(window, 5);

        // An hour-long window is written every 30 s: the right partition's write meets the left one's record and merges.
        _clock.Advance(TimeSpan.FromSeconds(30));
        await TestClusters.WaitUntilAsync(
            () => Task.FromResult(rightMetrics["orleans_ratelimit.window.conflicts_merged"] == 1), Bound, "the conflict to be merged");
        Assert.Equal(88, (await right.Client.StatsAsync(window)).Remaining);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await TestClusters.WaitUntilAsync(
            async () => await StoredCounts.ReadAsync(redis.Database, serviceId, window) == 12, Bound, "the merged window to be written");

        Assert.Equal(1, rightMetrics["orleans_ratelimit.window.writes"]);
        Assert.Equal(88, (await left.Client.StatsThroughHitAsync(window)).Remaining);
        Assert.Equal(88, (await right.Client.StatsAsync(window)).Remaining);
    }

    [Fact]
    public async Task A_conflict_met_by_the_last_write_of_a_deactivating_partition_loses_no_hits()
    {
        var serviceId = NewServiceId("conflict-last");
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "100/hour");
        await using var left = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId, clusterId: "left");
        await using var right = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId, clusterId: "right");
        using var rightMetrics = new MetricRecorder(right);
        await left.Client.HitAsync(window, 3);
        await right.Client.HitAsync(window, 4);
        await left.DeactivateAndWaitAsync(left.OwnerOf(window));

        await right.DeactivateAndWaitAsync(right.OwnerOf(window));

        Assert.Equal(1, rightMetrics["orleans_ratelimit.window.conflicts_merged"]);
        Assert.Equal(7, await StoredCounts.ReadAsync(redis.Database, serviceId, window));
        Assert.Equal(93, (await left.Client.StatsThroughHitAsync(window)).Remaining);
    }

    [Fact]
    public async Task A_record_written_behind_the_partitions_back_is_merged_into_its_window()
    {
        var serviceId = NewServiceId("behind");
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "100/hour");
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);
        using var metrics = new MetricRecorder(cluster);
        await cluster.Client.HitAsync(window, 4);
        var partition = TestWindows.PartitionOf(window);
        var storage = (IWindowPartitionStorage)cluster.Silos[0].ServiceProvider.GetService(typeof(IWindowPartitionStorage))!;

        // Another writer stores 10 hits of the window while this partition holds it.
        var written = await storage.WriteAsync(
            partition,
            [new WindowWrite(window.ToStorageKey(), 0, [new WindowBucket(TestClusters.Start.UtcTicks, 10)], TestClusters.Start.AddHours(2))],
            CancellationToken.None);
        Assert.True(Assert.Single(written).Written);

        // An hour-long window is written every 30 s: the write meets the other writer's record and merges with it...
        _clock.Advance(TimeSpan.FromSeconds(30));
        await TestClusters.WaitUntilAsync(
            () => Task.FromResult(metrics["orleans_ratelimit.window.conflicts_merged"] == 1), Bound, "the conflict to be merged");
        Assert.Equal(86, (await cluster.Client.StatsAsync(window)).Remaining);
        Assert.Equal(10, await StoredCounts.ReadAsync(redis.Database, serviceId, window));

        // ...and the merged window is written at the next tick.
        _clock.Advance(TimeSpan.FromSeconds(1));
        await TestClusters.WaitUntilAsync(
            async () => await StoredCounts.ReadAsync(redis.Database, serviceId, window) == 14, Bound, "the merged window to be written");
        Assert.Equal(1, metrics["orleans_ratelimit.window.writes"]);
    }

    [Fact]
    public async Task Hostile_keys_are_stored_and_restored_as_distinct_windows()
    {
        var serviceId = NewServiceId("hostile");
        string[] hostile =
        [
            new string('k', 10_240), new string('k', 10_239) + "j", "\0\u0001\u001F\u007F", "line\r\nbreak", "über", "😀",
            "a/b", "a%2Fb", "a#b", "#etag", "a|b", "a:b", "a,b", "", " ", "lone" + (char)0xD800,
        ];
        var limit = RateLimitItem.Parse("10/hour");
        var windows = hostile.Select(k => new RateLimitWindowKey(RateLimitStrategy.FixedWindow, limit, "api", k)).ToList();
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);
        for (var i = 0; i < windows.Count; i++)
        {
            await cluster.Client.HitAsync(windows[i], 1 + (i % 9));
        }

        foreach (var owner in windows.Select(cluster.OwnerOf).Distinct())
        {
            await cluster.DeactivateAndWaitAsync(owner);
        }

        for (var i = 0; i < windows.Count; i++)
        {
            Assert.Equal(10 - 1 - (i % 9), (await cluster.Client.StatsThroughHitAsync(windows[i])).Remaining);
        }
    }

    [Fact]
    public async Task Stats_and_tests_of_a_stored_window_see_its_counts_before_any_hit()
    {
        var serviceId = NewServiceId("peek");
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/hour");
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);
        await cluster.Client.HitAsync(window, 3);
        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(window));

        Assert.Equal(new WindowStats(7, TestClusters.Start.AddHours(1)), await cluster.Client.StatsAsync(window));
        Assert.Equal(new WindowDecision(false, new WindowStats(7, TestClusters.Start.AddHours(1))), await cluster.Client.TestAsync(window, 8));
        Assert.True((await cluster.Client.TestAsync(window, 7)).Allowed);
    }

    [Fact]
    public async Task Meta_limit_breaches_persist_like_windows()
    {
        var serviceId = NewServiceId("meta");
        var meta = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("2/hour"), "meta", "10.0.0.7");
        await using (var first = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId))
        {
            await first.Client.GetWindowOwner(meta).RecordBreaches([new WindowRef(meta)]);
            await first.Client.GetWindowOwner(meta).RecordBreaches([new WindowRef(meta)]);
            await TestClusters.WaitUntilAsync(async () => (await first.Client.StatsAsync(meta)).Remaining == 0, Bound, "two breaches to be counted");
        }

        await using var second = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);

        Assert.False((await second.Client.TestAsync(meta)).Allowed);
        Assert.Equal(2, await StoredCounts.ReadAsync(redis.Database, serviceId, meta));
    }

    [Fact]
    public async Task A_partition_key_not_made_by_window_partition_fails_activation_with_its_reason()
    {
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), NewServiceId("bad-key"));

        var exception = await Assert.ThrowsAnyAsync<Exception>(() => cluster.Client.GetGrain<IWindowPartitionGrain>(5).Count().AsTask());

        Assert.Contains("The window partition key 5 names no partition.", exception.ToString(), StringComparison.Ordinal);
    }

    /// <summary>A window whose partition is active on <paramref name="silo"/>, found by hitting windows of new clients.</summary>
    private static async Task<(RateLimitWindowKey Window, IWindowPartitionGrain Owner)> WindowOwnedByAsync(InProcessTestCluster cluster, InProcessSiloHandle silo)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/hour");
            var owner = cluster.OwnerOf(window);
            await owner.Count();
            if (cluster.HostOf(owner) == silo)
            {
                return (window, owner);
            }
        }

        throw new InvalidOperationException($"No partition was placed on {silo.SiloAddress} in 100 attempts.");
    }
}
