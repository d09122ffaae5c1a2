using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Redis stops answering (<c>CLIENT PAUSE</c>: connections stay open, commands wait, data stays).</summary>
public sealed class RedisOutageTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _clock = new(TestClusters.Start);

    [Fact]
    public async Task A_partition_activated_while_redis_does_not_answer_counts_in_memory_and_merges_later_without_losing_hits()
    {
        var serviceId = "outage-" + Guid.NewGuid().ToString("N");
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/hour");
        await using var cluster = await StartClusterAsync(serviceId);
        using var metrics = new MetricRecorder(cluster);
        await cluster.Client.HitAsync(window, 3);
        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(window));
        Assert.Equal(3, await StoredCounts.ReadAsync(redis.Database, serviceId, window));

        // The next activation's load times out on the grains' clock; the window starts empty and answers.
        await PauseRedisAsync();
        var during = await CompleteWhileAdvancingAsync(cluster.Client.HitAsync(window, 2).AsTask());
        Assert.True(during.Allowed);
        Assert.Equal(8, during.Stats.Remaining);
        Assert.Equal(1, metrics["orleans_ratelimit.window.read_failures"]);

        // Once Redis answers again, the write meets the stored record, merges, and the next tick writes all five hits.
        await redis.Database.PingAsync();
        _clock.Advance(TimeSpan.FromSeconds(30));
        await TestClusters.WaitUntilAsync(
            () => Task.FromResult(metrics["orleans_ratelimit.window.conflicts_merged"] == 1), Bound, "the conflict to be merged");
        Assert.Equal(5, (await cluster.Client.StatsAsync(window)).Remaining);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await TestClusters.WaitUntilAsync(
            async () => await StoredCounts.ReadAsync(redis.Database, serviceId, window) == 5, Bound, "the merged window to be written");

        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(window));
        Assert.Equal(5, (await cluster.Client.StatsThroughHitAsync(window)).Remaining);
    }

    [Fact]
    public async Task Decisions_are_answered_while_a_flush_waits_on_redis_and_the_dirty_windows_are_written_once_it_is_back()
    {
        var serviceId = "outage-flush-" + Guid.NewGuid().ToString("N");
        var windows = TestWindows.ClientsOfOnePartition(3).Select(c => TestWindows.Of(c, "10/hour")).ToList();
        await using var cluster = await StartClusterAsync(serviceId);
        using var metrics = new MetricRecorder(cluster);
        for (var i = 0; i < windows.Count; i++)
        {
            await cluster.Client.HitAsync(windows[i], 1 + i);
        }

        // The flush (every 30 s for an hour-long window) starts while Redis does not answer; calls are answered meanwhile,
        // without the grains' clock moving, and go on being answered once the write's storage timeout has passed.
        await PauseRedisAsync();
        _clock.Advance(TimeSpan.FromSeconds(30));
        var elapsed = Stopwatch.StartNew();
        for (var i = 0; i < windows.Count; i++)
        {
            Assert.Equal(10 - 2 - i, (await cluster.Client.HitAsync(windows[i])).Stats.Remaining);
        }

        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(1), $"three hits took {elapsed.Elapsed} while a flush waited on Redis");
        await AdvancePastStorageTimeoutAsync();
        Assert.Equal(7, (await cluster.Client.HitAsync(windows[0]).AsTask().WaitAsync(TimeSpan.FromSeconds(1))).Stats.Remaining);
        Assert.Equal(0, metrics["orleans_ratelimit.window.writes"]);

        // Redis answers again: the late write lands, and the next flush writes what was counted since, each hit once.
        await redis.Database.PingAsync();
        for (var second = 0; second < 30 && metrics["orleans_ratelimit.window.writes"] < 6; second++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(100);
        }

        Assert.Equal(6, metrics["orleans_ratelimit.window.writes"]);
        Assert.Equal(3, await StoredCounts.ReadAsync(redis.Database, serviceId, windows[0]));
        Assert.Equal(3, await StoredCounts.ReadAsync(redis.Database, serviceId, windows[1]));
        Assert.Equal(4, await StoredCounts.ReadAsync(redis.Database, serviceId, windows[2]));
        Assert.Equal(0, metrics["orleans_ratelimit.window.conflicts_merged"]);

        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(windows[0]));
        Assert.Equal(new long[] { 7, 7, 6 }, await Task.WhenAll(windows.Select(async w => (await cluster.Client.StatsThroughHitAsync(w)).Remaining)));
    }

    private Task<InProcessTestCluster> StartClusterAsync(string serviceId) =>
        TestClusters.StartAsync(1, _clock, o =>
        {
            o.RedisConnectionString = redis.ConnectionString;
            o.StorageTimeout = TimeSpan.FromMilliseconds(300);
        }, serviceId);

    private Task<StackExchange.Redis.RedisResult> PauseRedisAsync() => redis.Database.ExecuteAsync("CLIENT", "PAUSE", "3000", "ALL");

    /// <summary>Advances the grains' clock in small steps past the 300 ms storage timeout.</summary>
    private async Task AdvancePastStorageTimeoutAsync()
    {
        for (var step = 0; step < 5; step++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }
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
