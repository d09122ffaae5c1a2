using Microsoft.Extensions.Time.Testing;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// Redis refuses the partition's writes (an ACL takes <c>EVAL</c> and <c>EVALSHA</c>, which every write is, away from the user
/// the silo connects as). A server of its own, since the ACL applies to every connection.
/// </summary>
public sealed class RedisRefusedWriteTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _clock = new(TestClusters.Start);

    [Fact]
    public async Task A_refused_write_keeps_its_windows_dirty_and_they_are_written_once_redis_allows_it_again()
    {
        var serviceId = "refused-" + Guid.NewGuid().ToString("N");
        var clients = TestWindows.ClientsOfOnePartition(2);
        var first = TestWindows.Of(clients[0], "10/hour");
        var second = TestWindows.Of(clients[1], "10/hour", RateLimitStrategy.MovingWindow);
        var counters = new List<CountingPartitionStorage>();
        await using var cluster = await TestClusters.StartAsync(
            1, _clock, o => o.RedisConnectionString = redis.ConnectionString, serviceId, services: s => CountingPartitionStorage.AddTo(s, counters));
        using var metrics = new MetricRecorder(cluster);
        await cluster.Client.HitAsync(first, 3);
        await cluster.Client.HitAsync(second, 1);
        var counter = Assert.Single(counters);

        await redis.Database.ExecuteAsync("ACL", "SETUSER", "default", "-eval", "-evalsha");
        try
        {
            // An hour-long window is written every 30 s; refused, it stays due and is tried again at every tick.
            _clock.Advance(TimeSpan.FromSeconds(30));
            await TestClusters.WaitUntilAsync(() => Task.FromResult(counter.FailedWrites == 1), Bound, "the refused write");
            Assert.Equal(8, (await cluster.Client.HitAsync(second)).Stats.Remaining);
            _clock.Advance(TimeSpan.FromSeconds(1));
            await TestClusters.WaitUntilAsync(() => Task.FromResult(counter.FailedWrites == 2), Bound, "the write to be tried again");
            Assert.Equal([2, 2], counter.WriteBatches);
        }
        finally
        {
            await redis.Database.ExecuteAsync("ACL", "SETUSER", "default", "+eval", "+evalsha");
        }

        Assert.False(await StoredCounts.ExistsAsync(redis.Database, serviceId, first));
        Assert.Equal(0, metrics["orleans_ratelimit.window.writes"]);

        // Counted per window of each refused round trip.
        Assert.Equal(4, metrics["orleans_ratelimit.window.write_failures"]);

        _clock.Advance(TimeSpan.FromSeconds(1));
        await TestClusters.WaitUntilAsync(
            () => Task.FromResult(metrics["orleans_ratelimit.window.writes"] == 2), Bound, "the windows to be written");
        Assert.Equal(3, await StoredCounts.ReadAsync(redis.Database, serviceId, first));
        Assert.Equal(2, await StoredCounts.ReadAsync(redis.Database, serviceId, second));
        Assert.Equal([2, 2, 2], counter.WriteBatches);
        Assert.Equal(0, metrics["orleans_ratelimit.window.conflicts_merged"]);

        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(first));
        Assert.Equal(7, (await cluster.Client.StatsThroughHitAsync(first)).Remaining);
        Assert.Equal(8, (await cluster.Client.StatsThroughHitAsync(second)).Remaining);
        Assert.Equal([2, 2, 2], counter.WriteBatches);
    }
}
