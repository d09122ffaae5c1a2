using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Redis stops answering (<c>CLIENT PAUSE</c>: connections stay open, commands wait, data stays).</summary>
public sealed class RedisOutageTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly string Key =
        new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("10/hour"), "api", "client").ToGrainKey();

    private readonly FakeTimeProvider _clock = new(TestClusters.Start);

    [Fact]
    public async Task A_window_activated_while_redis_does_not_answer_counts_in_memory_and_merges_later_without_losing_hits()
    {
        await using var cluster = await StartClusterAsync();
        using var metrics = new MetricRecorder(cluster);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(Key);
        await grain.Hit(3);
        await cluster.DeactivateAndWaitAsync(grain);

        // The next activation's read times out on the grains' clock; the window starts empty and answers.
        await PauseRedisAsync();
        var during = await CompleteWhileAdvancingAsync(grain.Hit(2).AsTask());
        Assert.True(during.Allowed);
        Assert.Equal(8, during.Stats.Remaining);

        // Once Redis answers again, the write meets the stored record, merges, and keeps all five hits.
        await redis.Database.PingAsync();
        await cluster.DeactivateAndWaitAsync(grain);

        Assert.Equal(5, (await grain.Stats()).Remaining);
        Assert.Equal(1, metrics["orleans_ratelimit.window.read_failures"]);
        Assert.Equal(1, metrics["orleans_ratelimit.window.conflicts_merged"]);
    }

    [Fact]
    public async Task A_flush_that_redis_does_not_answer_does_not_hold_calls_and_is_retried()
    {
        await using var cluster = await StartClusterAsync();
        using var metrics = new MetricRecorder(cluster);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(Key);
        await grain.Hit(1);

        // The flush timer (every 30 s for an hour-long window) fires while Redis does not answer; calls are answered meanwhile,
        // without the grains' clock moving, and the write fails once its storage timeout passes on that clock.
        await PauseRedisAsync();
        _clock.Advance(TimeSpan.FromSeconds(30));
        var elapsed = Stopwatch.StartNew();
        Assert.True((await grain.Hit(1)).Allowed);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(1), $"a hit took {elapsed.Elapsed} while a flush waited on Redis");
        Assert.Equal(0, metrics["orleans_ratelimit.window.write_failures"]);
        await AdvanceUntilAsync(() => metrics["orleans_ratelimit.window.write_failures"] == 1);

        // Redis answers again; the late write is adopted and the next flush writes both hits, each counted once.
        await redis.Database.PingAsync();
        _clock.Advance(TimeSpan.FromSeconds(30));
        await TestClusters.WaitUntilAsync(() => Task.FromResult(metrics["orleans_ratelimit.window.writes"] >= 1), TimeSpan.FromSeconds(10), "the retried write");
        await cluster.DeactivateAndWaitAsync(grain);
        Assert.Equal(8, (await grain.Stats()).Remaining);
    }

    private Task<InProcessTestCluster> StartClusterAsync() =>
        TestClusters.StartAsync(1, _clock, o =>
        {
            o.RedisConnectionString = redis.ConnectionString;
            o.StorageTimeout = TimeSpan.FromMilliseconds(300);
        }, "outage-" + Guid.NewGuid().ToString("N"));

    private Task<StackExchange.Redis.RedisResult> PauseRedisAsync() => redis.Database.ExecuteAsync("CLIENT", "PAUSE", "3000", "ALL");

    /// <summary>Advances the grains' clock in small steps until <paramref name="condition"/> holds, well before the 3 s pause ends.</summary>
    private async Task AdvanceUntilAsync(Func<bool> condition)
    {
        var elapsed = Stopwatch.StartNew();
        while (!condition() && elapsed.Elapsed < TimeSpan.FromSeconds(10))
        {
            _clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }

        Assert.True(condition(), $"the condition did not hold after {elapsed.Elapsed}");
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2.5), $"it took {elapsed.Elapsed} while Redis did not answer");
    }

    /// <summary>
    /// Advances the grains' clock in small steps until <paramref name="call"/> completes, so storage timeouts fire, and
    /// asserts that it completed well before the 3 s pause ended.
    /// </summary>
    private async Task<T> CompleteWhileAdvancingAsync<T>(Task<T> call)
    {
        var elapsed = Stopwatch.StartNew();
        while (!call.IsCompleted && elapsed.Elapsed < TimeSpan.FromSeconds(10))
        {
            _clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }

        var result = await call;
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2.5), $"the call took {elapsed.Elapsed} while Redis did not answer");
        return result;
    }
}
