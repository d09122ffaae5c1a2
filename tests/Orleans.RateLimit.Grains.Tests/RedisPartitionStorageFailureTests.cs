using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Silo;
using Orleans.RateLimit.Testing;
using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// <see cref="RedisWindowPartitionStorage"/> when Redis fails: unreadable records, cancelled calls, outages of writes and of
/// loads, each logged once when it starts and once when it ends, and counted in metrics.
/// </summary>
public sealed class RedisPartitionStorageFailureTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly WindowPartition Partition = PartitionStore.Partition;
    private static readonly long T0 = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    [Fact]
    public async Task Unreadable_stored_windows_are_skipped_counted_and_logged_once_per_load_then_replaced()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);
        await store.WriteAsync(new WindowWrite("fixed-window/good", 0, [new(T0, 1)], expiresAt));
        foreach (var (id, value) in new[] { ("fixed-window/no-etag", "garbage"), ("fixed-window/bad-bucket", "5|1:2,x"), ("fixed-window/negative", "6|-1:2") })
        {
            await redis.Database.HashSetAsync(store.HashKey, id, value);
            await redis.Database.SortedSetAddAsync(store.ExpiryKey, id, expiresAt.ToUnixTimeMilliseconds());
        }

        Assert.Equal(["fixed-window/good"], (await store.LoadAsync()).Select(window => window.Id));
        Assert.Equal(3, store.Metric("orleans_ratelimit.window.unreadable"));
        var logged = Assert.Single(store.Logs, entry => entry.Level >= LogLevel.Information);
        Assert.Equal((LogLevel.Warning, 7), (logged.Level, logged.EventId));
        Assert.Contains("3 stored windows of rate-limit partition 1/4", logged.Message, StringComparison.Ordinal);

        var results = await store.WriteAsync(
            new WindowWrite("fixed-window/no-etag", 0, [new(T0, 4)], expiresAt),
            new WindowWrite("fixed-window/bad-bucket", 0, [new(T0, 4)], expiresAt));
        Assert.True(results[0].Written);
        Assert.Equal(new WindowWriteResult(false, 5, results[1].Stored), results[1]);
        Assert.Empty(results[1].Stored);
        Assert.Equal(4, store.Metric("orleans_ratelimit.window.unreadable"));

        var replaced = (await store.WriteAsync(new WindowWrite("fixed-window/bad-bucket", 5, [new(T0, 4)], expiresAt)))[0];
        Assert.True(replaced.Written);
        Assert.Equal(
            ["fixed-window/bad-bucket", "fixed-window/good", "fixed-window/no-etag"],
            (await store.LoadAsync()).Select(window => window.Id).Order(StringComparer.Ordinal));
        Assert.Equal(5, store.Metric("orleans_ratelimit.window.unreadable"));
    }

    [Fact]
    public async Task A_cancelled_call_throws_and_counts_as_a_failure()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAsync<TaskCanceledException>(() => store.Storage.LoadAsync(Partition, cancelled.Token));
        await Assert.ThrowsAsync<TaskCanceledException>(() => store.Storage.WriteAsync(
            Partition, [new WindowWrite("fixed-window/a", 0, [], null), new WindowWrite("fixed-window/b", 0, [], null)], cancelled.Token));

        Assert.Equal(1, store.Metric("orleans_ratelimit.window.read_failures"));
        Assert.Equal(2, store.Metric("orleans_ratelimit.window.write_failures"));
    }

    [Fact]
    public async Task An_outage_is_counted_thrown_and_logged_once_per_kind_of_call_when_it_starts_and_once_when_it_ends()
    {
        using var server = new RedisProcess();
        await server.StartAsync();
        await using var store = await PartitionStore.StartAsync(server.ConnectionString + ",connectTimeout=500,asyncTimeout=500,syncTimeout=500");
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);
        Assert.True((await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 1)], expiresAt)))[0].Written);

        server.Stop();
        var failures = new List<Exception>
        {
            await Assert.ThrowsAnyAsync<Exception>(() => store.WriteAsync(
                new WindowWrite("fixed-window/a", 0, [new(T0, 1)], expiresAt), new WindowWrite("fixed-window/b", 0, [new(T0, 1)], expiresAt))),
            await Assert.ThrowsAnyAsync<Exception>(() => store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 1)], expiresAt))),
            await Assert.ThrowsAnyAsync<Exception>(store.LoadAsync),
        };

        Assert.All(failures, failure => Assert.True(failure is RedisConnectionException or RedisTimeoutException, failure.ToString()));
        Assert.Equal(3, store.Metric("orleans_ratelimit.window.write_failures"));
        Assert.Equal(1, store.Metric("orleans_ratelimit.window.read_failures"));
        Assert.Equal(
            [
                (LogLevel.Warning, 5, "Redis window writes of the rate-limit window storage started failing (partition 1/4); until they work again further failures are only counted, in orleans_ratelimit.window.write_failures, and the recovery is logged.", true),
                (LogLevel.Warning, 5, "Redis partition loads of the rate-limit window storage started failing (partition 1/4); until they work again further failures are only counted, in orleans_ratelimit.window.read_failures, and the recovery is logged.", true),
            ],
            store.Logged().Select(entry => (entry.Level, entry.EventId, entry.Message, entry.HasException)));

        // Each kind ends with its own first success, and says how many of its calls failed meanwhile, over how long.
        store.Clock.Advance(TimeSpan.FromSeconds(12));
        await server.StartAsync();
        await LoadOnceRedisAnswersAsync(store);
        Assert.True((await store.WriteAsync(new WindowWrite("fixed-window/c", 0, [new(T0, 1)], expiresAt)))[0].Written);
        Assert.True((await store.WriteAsync(new WindowWrite("fixed-window/d", 0, [new(T0, 1)], expiresAt)))[0].Written);
        Assert.Equal(["fixed-window/c", "fixed-window/d"], (await store.LoadAsync()).Select(window => window.Id).Order(StringComparer.Ordinal));

        var logged = store.Logged();
        Assert.Equal(4, logged.Count);
        var failedLoads = store.Metric("orleans_ratelimit.window.read_failures");
        Assert.Matches(
            $@"^Redis partition loads of the rate-limit window storage work again \(a partition load succeeded\), after {failedLoads} failed calls over 00:00:12\.$",
            logged[2].Message);
        Assert.Equal((LogLevel.Information, 6, false), (logged[2].Level, logged[2].EventId, logged[2].HasException));
        Assert.Matches(
            @"^Redis window writes of the rate-limit window storage work again \(a window write succeeded\), after 2 failed calls over 00:00:12\.$",
            logged[3].Message);
        Assert.Equal((LogLevel.Information, 6, false), (logged[3].Level, logged[3].EventId, logged[3].HasException));
    }

    [Fact]
    public async Task An_outage_of_loads_ends_at_the_first_write_that_succeeds_since_a_partition_loads_only_when_it_activates()
    {
        using var server = new RedisProcess();
        await server.StartAsync();
        await using var store = await PartitionStore.StartAsync(server.ConnectionString + ",connectTimeout=500,asyncTimeout=500,syncTimeout=500");
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);
        server.Stop();
        await Assert.ThrowsAnyAsync<Exception>(store.LoadAsync);

        store.Clock.Advance(TimeSpan.FromSeconds(3));
        await server.StartAsync();
        await store.WaitUntilConnectedAsync(TimeSpan.FromSeconds(30));
        Assert.True((await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 1)], expiresAt)))[0].Written);

        var logged = store.Logged();
        Assert.Equal([(LogLevel.Warning, 5, true), (LogLevel.Information, 6, false)], logged.Select(entry => (entry.Level, entry.EventId, entry.HasException)));
        Assert.StartsWith("Redis partition loads of the rate-limit window storage started failing", logged[0].Message, StringComparison.Ordinal);
        Assert.Matches(@"^Redis partition loads of the rate-limit window storage work again \(a window write succeeded\), after 1 failed calls over 00:00:03\.$", logged[1].Message);
        Assert.Equal(0, store.Metric("orleans_ratelimit.window.write_failures"));
    }

    /// <summary>Loads until one succeeds, up to 30 s: the server was just started again and the connection comes back by itself.</summary>
    private static async Task LoadOnceRedisAnswersAsync(PartitionStore store)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await store.LoadAsync();
                return;
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }
        }
    }
}
