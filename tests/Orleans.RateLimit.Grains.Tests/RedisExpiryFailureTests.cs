using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// Redis refuses the expiry (an ACL takes <c>PEXPIRE</c> and <c>EXPIRE</c> away from the user the silo connects as) after the
/// window's write has landed. A server of its own, since the ACL applies to every connection.
/// </summary>
public sealed class RedisExpiryFailureTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private readonly FakeTimeProvider _clock = new(TestClusters.Start);

    [Fact]
    public async Task A_write_whose_expiry_fails_still_counts_as_written_so_the_next_write_does_not_conflict()
    {
        var serviceId = "expiry-failure-" + Guid.NewGuid().ToString("N");
        var key = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("10/hour"), "api", "client").ToGrainKey();
        var storageKey = StoredWindowKeys.For(serviceId, key);
        await using var cluster = await TestClusters.StartAsync(1, _clock, o => o.RedisConnectionString = redis.ConnectionString, serviceId);
        using var metrics = new MetricRecorder(cluster);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);
        await grain.Hit(3);

        await redis.Database.ExecuteAsync("ACL", "SETUSER", "default", "-pexpire", "-expire");
        try
        {
            // An hour-long window flushes every 30 s.
            _clock.Advance(TimeSpan.FromSeconds(30));
            await TestClusters.WaitUntilAsync(
                () => Task.FromResult(metrics["orleans_ratelimit.window.expiry_failures"] == 1), TimeSpan.FromSeconds(10), "the refused expiry");
        }
        finally
        {
            await redis.Database.ExecuteAsync("ACL", "SETUSER", "default", "+pexpire", "+expire");
        }

        Assert.Equal(1, metrics["orleans_ratelimit.window.writes"]);
        Assert.Equal(0, metrics["orleans_ratelimit.window.write_failures"]);
        Assert.True(await redis.Database.KeyExistsAsync(storageKey));
        Assert.Null(await redis.Database.KeyTimeToLiveAsync(storageKey));

        // The next write builds on the landed one's ETag: no conflict, no hit counted twice, and the key gets its expiry.
        await grain.Hit(2);
        await cluster.DeactivateAndWaitAsync(grain);
        Assert.Equal(2, metrics["orleans_ratelimit.window.writes"]);
        Assert.Equal(0, metrics["orleans_ratelimit.window.conflicts_merged"]);
        Assert.NotNull(await redis.Database.KeyTimeToLiveAsync(storageKey));
        Assert.Equal(5, (await grain.Stats()).Remaining);
    }
}
