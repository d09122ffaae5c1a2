using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

public sealed class RedisPersistenceTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private readonly FakeTimeProvider _clock = new(TestClusters.Start);

    private Action<RateLimitGrainOptions> UseRedis(TimeSpan? expiryGrace = null) => options =>
    {
        options.RedisConnectionString = redis.ConnectionString;
        options.ExpiryGrace = expiryGrace ?? options.ExpiryGrace;
    };

    private static string WindowKey(string limit, RateLimitStrategy strategy = RateLimitStrategy.FixedWindow) =>
        new RateLimitWindowKey(strategy, RateLimitItem.Parse(limit), "endpoint", Guid.NewGuid().ToString("N")).ToGrainKey();


    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task Count_survives_the_grains_deactivation(RateLimitStrategy strategy)
    {
        await using var cluster = await TestClusters.StartAsync(2, _clock, UseRedis());
        var key = WindowKey("10/minute", strategy);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);
        Assert.True((await grain.Hit(3)).Allowed);

        await cluster.DeactivateAndWaitAsync(grain);

        Assert.Equal(7, (await cluster.FactoryOf(1).GetGrain<IRateLimitWindowGrain>(key).Stats()).Remaining);
    }

    [Fact]
    public async Task Count_survives_a_whole_cluster_restart()
    {
        var serviceId = "restart-" + Guid.NewGuid().ToString("N");
        var key = WindowKey("10/hour");
        await using (var first = await TestClusters.StartAsync(2, _clock, UseRedis(), serviceId))
        {
            var grain = first.Client.GetGrain<IRateLimitWindowGrain>(key);
            Assert.True((await grain.Hit(4)).Allowed);
        }

        await using var second = await TestClusters.StartAsync(2, _clock, UseRedis(), serviceId);

        var stats = await second.Client.GetGrain<IRateLimitWindowGrain>(key).Stats();
        Assert.Equal(new WindowStats(6, _clock.GetUtcNow().AddHours(1)), stats);
    }

    [Fact]
    public async Task Windows_of_ten_seconds_or_less_are_not_persisted()
    {
        var serviceId = "short-" + Guid.NewGuid().ToString("N");
        var key = WindowKey("5/10 seconds");
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);
        await grain.Hit(2);

        await cluster.DeactivateAndWaitAsync(grain);

        Assert.False(await redis.Database.KeyExistsAsync(StoredWindowKeys.For(serviceId, key)));
        Assert.Equal(5, (await grain.Stats()).Remaining);
    }

    [Fact]
    public async Task Dirty_windows_are_written_behind_on_the_flush_timer_not_per_hit()
    {
        var serviceId = "flush-" + Guid.NewGuid().ToString("N");
        var key = WindowKey("100/minute");
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);

        for (var i = 0; i < 20; i++)
        {
            await grain.Hit(1);
        }

        Assert.False(await redis.Database.KeyExistsAsync(StoredWindowKeys.For(serviceId, key)));

        // A 1-minute window flushes every max(1 s, 60 s / 20) = 3 s.
        _clock.Advance(TimeSpan.FromSeconds(3));
        await TestClusters.WaitUntilAsync(
            () => redis.Database.KeyExistsAsync(StoredWindowKeys.For(serviceId, key)), TimeSpan.FromSeconds(10), "the flush timer to write the window");
        var json = (string?)await redis.Database.HashGetAsync(StoredWindowKeys.For(serviceId, key), "data");
        Assert.Contains("20", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rejected_hits_that_change_nothing_cause_no_writes()
    {
        var serviceId = "rejected-" + Guid.NewGuid().ToString("N");
        var key = WindowKey("2/minute", RateLimitStrategy.MovingWindow);
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);
        using var metrics = new MetricRecorder(cluster);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);
        await grain.Hit(2);
        _clock.Advance(TimeSpan.FromSeconds(3));
        await TestClusters.WaitUntilAsync(() => Task.FromResult(metrics["orleans_ratelimit.window.writes"] == 1), TimeSpan.FromSeconds(10), "the first write");

        for (var i = 0; i < 50; i++)
        {
            Assert.False((await grain.Hit(1)).Allowed);
        }

        _clock.Advance(TimeSpan.FromSeconds(3));
        _clock.Advance(TimeSpan.FromSeconds(3));
        // A counted hit, as a control: its write must be the second, so the rejected hits wrote nothing.
        _clock.Advance(TimeSpan.FromSeconds(60));
        Assert.True((await grain.Hit(1)).Allowed);
        _clock.Advance(TimeSpan.FromSeconds(3));
        await TestClusters.WaitUntilAsync(() => Task.FromResult(metrics["orleans_ratelimit.window.writes"] >= 2), TimeSpan.FromSeconds(10), "the control write");
        Assert.Equal(2, metrics["orleans_ratelimit.window.writes"]);
    }

    [Fact]
    public async Task Redis_key_expires_just_after_its_window()
    {
        var serviceId = "expiry-" + Guid.NewGuid().ToString("N");
        var key = WindowKey("3/12 seconds");
        var storageKey = StoredWindowKeys.For(serviceId, key);
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(expiryGrace: TimeSpan.FromMilliseconds(500)), serviceId);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);
        await grain.Hit(1);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await grain.Hit(1);

        await cluster.DeactivateAndWaitAsync(grain);

        // The window started 1 s before the write and lasts 12 s: 11 s left plus 0.5 s of grace.
        var timeToLive = await redis.Database.KeyTimeToLiveAsync(storageKey);
        Assert.NotNull(timeToLive);
        Assert.InRange(timeToLive.Value, TimeSpan.FromSeconds(10.5), TimeSpan.FromSeconds(11.5));
        await TestClusters.WaitUntilAsync(
            async () => !await redis.Database.KeyExistsAsync(storageKey), TimeSpan.FromSeconds(20), "Redis to expire the window's key");
    }

    [Fact]
    public async Task A_cleared_window_deletes_its_record()
    {
        var serviceId = "clear-" + Guid.NewGuid().ToString("N");
        var key = WindowKey("3/hour");
        await using var cluster = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);
        await grain.Hit(3);
        await cluster.DeactivateAndWaitAsync(grain);
        Assert.True(await redis.Database.KeyExistsAsync(StoredWindowKeys.For(serviceId, key)));

        await grain.Clear();

        Assert.False(await redis.Database.KeyExistsAsync(StoredWindowKeys.For(serviceId, key)));
        Assert.Equal(3, (await grain.Stats()).Remaining);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task A_write_conflict_between_two_activations_loses_no_hits(RateLimitStrategy strategy)
    {
        // Two clusters sharing a service id and Redis but not membership: each holds its own activation of one window,
        // as two silos can for a moment while a cluster churns.
        var serviceId = "conflict-" + Guid.NewGuid().ToString("N");
        var key = WindowKey("100/hour", strategy);
        await using var left = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId, clusterId: "left");
        await using var right = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId, clusterId: "right");
        using var rightMetrics = new MetricRecorder(right);
        var leftGrain = left.Client.GetGrain<IRateLimitWindowGrain>(key);
        var rightGrain = right.Client.GetGrain<IRateLimitWindowGrain>(key);
        Assert.Equal(100, (await leftGrain.Stats()).Remaining);
        Assert.Equal(100, (await rightGrain.Stats()).Remaining);

        await leftGrain.Hit(3);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await rightGrain.Hit(4);
        await left.DeactivateAndWaitAsync(leftGrain);
        await rightGrain.Hit(5);
        await right.DeactivateAndWaitAsync(rightGrain);

        Assert.Equal(1, rightMetrics["orleans_ratelimit.window.conflicts_merged"]);
        Assert.Equal(1, rightMetrics["orleans_ratelimit.window.writes"]);
        Assert.Equal(88, (await left.Client.GetGrain<IRateLimitWindowGrain>(key).Stats()).Remaining);
        Assert.Equal(88, (await right.Client.GetGrain<IRateLimitWindowGrain>(key).Stats()).Remaining);
    }

    [Fact]
    public async Task Meta_limit_breaches_persist_like_windows()
    {
        var serviceId = "meta-" + Guid.NewGuid().ToString("N");
        var key = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("2/hour"), "meta", "10.0.0.7").ToGrainKey();
        await using (var first = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId))
        {
            var meta = first.Client.GetGrain<IMetaLimitGrain>(key);
            await meta.RecordBreach();
            await meta.RecordBreach();
            await TestClusters.WaitUntilAsync(async () => (await meta.Stats()).Remaining == 0, TimeSpan.FromSeconds(10), "two breaches to be counted");
        }

        await using var second = await TestClusters.StartAsync(1, _clock, UseRedis(), serviceId);

        Assert.False((await second.Client.GetGrain<IMetaLimitGrain>(key).Check(1)).Allowed);
        Assert.True(await redis.Database.KeyExistsAsync(StoredWindowKeys.For(serviceId, key, "metalimit")));
    }
}
