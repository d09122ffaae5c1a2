using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Orleans.RateLimit.Grains.Tests;

public sealed class RedisOutageTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private readonly FakeTimeProvider _clock = new(TestClusters.Start);

    [Fact]
    public async Task A_window_activated_while_redis_does_not_answer_counts_in_memory_and_merges_later_without_losing_hits()
    {
        var serviceId = "outage-" + Guid.NewGuid().ToString("N");
        var key = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("10/hour"), "api", "client").ToGrainKey();
        await using var cluster = await TestClusters.StartAsync(1, _clock, o =>
        {
            o.RedisConnectionString = redis.ConnectionString;
            o.StorageTimeout = TimeSpan.FromMilliseconds(300);
        }, serviceId);
        using var metrics = new MetricRecorder(cluster);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);
        await grain.Hit(3);
        await cluster.DeactivateAsync(grain);
        await cluster.WaitForDeactivationAsync(grain);

        // Redis stops answering (its data stays); the next activation's read times out on the grains' clock.
        await redis.Database.ExecuteAsync("CLIENT", "PAUSE", "3000", "ALL");
        var elapsed = Stopwatch.StartNew();
        var hit = grain.Hit(2).AsTask();
        while (!hit.IsCompleted && elapsed.Elapsed < TimeSpan.FromSeconds(10))
        {
            _clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }

        var during = await hit;
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2.5), $"the hit took {elapsed.Elapsed} while Redis was paused");
        Assert.True(during.Allowed);
        Assert.Equal(8, during.Stats.Remaining);

        // Once Redis answers again, the write meets the stored record, merges, and keeps all five hits.
        // A paused Redis queues commands, so this ping returns when the pause ends.
        await redis.Database.PingAsync();
        await cluster.DeactivateAsync(grain);
        await cluster.WaitForDeactivationAsync(grain);

        Assert.Equal(5, (await grain.Stats()).Remaining);
        Assert.Equal(1, metrics["orleans_ratelimit.window.read_failures"]);
        Assert.Equal(1, metrics["orleans_ratelimit.window.conflicts_merged"]);
    }

    [Fact]
    public async Task A_flush_that_redis_does_not_answer_holds_calls_only_for_the_storage_timeout_and_is_retried()
    {
        var serviceId = "stalled-" + Guid.NewGuid().ToString("N");
        var key = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("10/hour"), "api", "client").ToGrainKey();
        await using var cluster = await TestClusters.StartAsync(1, _clock, o =>
        {
            o.RedisConnectionString = redis.ConnectionString;
            o.StorageTimeout = TimeSpan.FromMilliseconds(300);
        }, serviceId);
        using var metrics = new MetricRecorder(cluster);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);
        await grain.Hit(1);

        // The flush timer (every 30 s for an hour-long window) fires while Redis does not answer.
        await redis.Database.ExecuteAsync("CLIENT", "PAUSE", "3000", "ALL");
        _clock.Advance(TimeSpan.FromSeconds(30));
        var elapsed = Stopwatch.StartNew();
        var hit = grain.Hit(1).AsTask();
        while (!hit.IsCompleted && elapsed.Elapsed < TimeSpan.FromSeconds(10))
        {
            _clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }

        Assert.True((await hit).Allowed);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2.5), $"the hit took {elapsed.Elapsed} behind a stalled flush");
        Assert.Equal(1, metrics["orleans_ratelimit.window.write_failures"]);

        // Redis answers again; the next flush writes both hits.
        await redis.Database.PingAsync();
        _clock.Advance(TimeSpan.FromSeconds(30));
        await TestClusters.WaitUntilAsync(() => Task.FromResult(metrics["orleans_ratelimit.window.writes"] >= 1), TimeSpan.FromSeconds(10), "the retried write");
        await cluster.DeactivateAsync(grain);
        await cluster.WaitForDeactivationAsync(grain);
        Assert.Equal(8, (await grain.Stats()).Remaining);
    }
}
