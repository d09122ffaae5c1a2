using System.Diagnostics;
using System.Globalization;
using Orleans.RateLimit.Silo;
using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary><see cref="RedisWindowPartitionStorage"/> against a real redis-server, on a fake clock.</summary>
public sealed class RedisPartitionStorageTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly WindowPartition Partition = PartitionStore.Partition;
    private static readonly long T0 = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    [Fact]
    public async Task Written_windows_load_back_with_their_buckets_and_etags_in_the_documented_layout()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);
        WindowBucket[] buckets = [new(T0, 3), new(T0 + 600_000_000, 1)];

        var results = await store.WriteAsync(
            new WindowWrite("fixed-window/10/1/hour//global/a", 0, buckets, expiresAt),
            new WindowWrite("moving-window/5/1/minute//global/b", 0, [], expiresAt));

        Assert.All(results, result => Assert.True(result.Written));
        Assert.All(results, result => Assert.Empty(result.Stored));
        Assert.True(results[0].ETag > 0);
        Assert.Equal(results[0].ETag + 1, results[1].ETag);

        var loaded = (await store.LoadAsync()).OrderBy(window => window.Id, StringComparer.Ordinal).ToArray();
        Assert.Equal(["fixed-window/10/1/hour//global/a", "moving-window/5/1/minute//global/b"], loaded.Select(window => window.Id));
        Assert.Equal([results[0].ETag, results[1].ETag], loaded.Select(window => window.ETag));
        Assert.Equal(buckets, loaded[0].Buckets);
        Assert.Empty(loaded[1].Buckets);
        Assert.All(loaded, window => Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(expiresAt.ToUnixTimeMilliseconds()), window.ExpiresAt));

        var hash = $"{store.ServiceId}/ratelimit/{{4-1}}";
        Assert.Equal(
            $"{results[0].ETag}|{T0}:3,{T0 + 600_000_000}:1",
            (string?)await redis.Database.HashGetAsync(hash, "fixed-window/10/1/hour//global/a"));
        Assert.Equal($"{results[1].ETag}|", (string?)await redis.Database.HashGetAsync(hash, "moving-window/5/1/minute//global/b"));
        Assert.Equal(results[1].ETag.ToString(CultureInfo.InvariantCulture), (string?)await redis.Database.HashGetAsync(hash, "#etag"));
        Assert.Equal(3, await redis.Database.HashLengthAsync(hash));
        Assert.Equal(expiresAt.ToUnixTimeMilliseconds(), await redis.Database.SortedSetScoreAsync(hash + "/expiry", "fixed-window/10/1/hour//global/a"));
        Assert.Equal(2, await redis.Database.SortedSetLengthAsync(hash + "/expiry"));

        Assert.Empty(await store.Storage.LoadAsync(new WindowPartition(2, 4), CancellationToken.None));
        Assert.Empty(await store.Storage.LoadAsync(new WindowPartition(1, 8), CancellationToken.None));
    }

    [Fact]
    public async Task A_stale_etag_conflicts_and_gets_what_is_stored_while_nothing_changes()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);
        var first = (await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 1)], expiresAt)))[0];
        var second = (await store.WriteAsync(new WindowWrite("fixed-window/a", first.ETag, [new(T0, 4)], expiresAt)))[0];
        var before = await store.SnapshotAsync();

        var stale = (await store.WriteAsync(new WindowWrite("fixed-window/a", first.ETag, [new(T0, 9)], expiresAt.AddHours(1))))[0];

        Assert.False(stale.Written);
        Assert.Equal(second.ETag, stale.ETag);
        Assert.Equal([new WindowBucket(T0, 4)], stale.Stored);
        Assert.Equal(before, await store.SnapshotAsync());
    }

    [Fact]
    public async Task Expecting_no_record_conflicts_with_an_existing_one_and_expecting_one_conflicts_with_none()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);
        var existing = (await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 2)], expiresAt)))[0];
        var before = await store.SnapshotAsync();

        var results = await store.WriteAsync(
            new WindowWrite("fixed-window/a", 0, [new(T0, 5)], expiresAt),
            new WindowWrite("fixed-window/absent", existing.ETag, [new(T0, 5)], expiresAt));

        Assert.Equal(new WindowWriteResult(false, existing.ETag, results[0].Stored), results[0]);
        Assert.Equal([new WindowBucket(T0, 2)], results[0].Stored);
        Assert.Equal(new WindowWriteResult(false, 0, results[1].Stored), results[1]);
        Assert.Empty(results[1].Stored);
        Assert.Equal(before, await store.SnapshotAsync());
    }

    [Fact]
    public async Task A_replace_writes_whatever_is_stored()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);
        var existing = (await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 2)], expiresAt)))[0];

        var results = await store.WriteAsync(
            new WindowWrite("fixed-window/a", 0, [new(T0, 7)], expiresAt, Replace: true),
            new WindowWrite("fixed-window/absent", 12345, [new(T0, 1)], expiresAt, Replace: true));

        Assert.True(results[0].Written);
        Assert.Equal(existing.ETag + 1, results[0].ETag);
        Assert.True(results[1].Written);
        Assert.Equal(existing.ETag + 2, results[1].ETag);
        var loaded = (await store.LoadAsync()).ToDictionary(window => window.Id);
        Assert.Equal([new WindowBucket(T0, 7)], loaded["fixed-window/a"].Buckets);
        Assert.Equal(results[0].ETag, loaded["fixed-window/a"].ETag);
        Assert.Equal([new WindowBucket(T0, 1)], loaded["fixed-window/absent"].Buckets);
    }

    [Fact]
    public async Task A_delete_removes_the_window_and_reports_etag_zero_but_a_stale_delete_conflicts()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);
        var written = await store.WriteAsync(
            new WindowWrite("fixed-window/a", 0, [new(T0, 1)], expiresAt),
            new WindowWrite("fixed-window/b", 0, [new(T0, 2)], expiresAt));

        var deleted = await store.WriteAsync(
            new WindowWrite("fixed-window/a", written[0].ETag, [], null),
            new WindowWrite("fixed-window/b", written[0].ETag, [], null),
            new WindowWrite("fixed-window/never", 0, [], null));

        Assert.Equal(new WindowWriteResult(true, 0, deleted[0].Stored), deleted[0]);
        Assert.Empty(deleted[0].Stored);
        Assert.Equal(new WindowWriteResult(false, written[1].ETag, deleted[1].Stored), deleted[1]);
        Assert.Equal([new WindowBucket(T0, 2)], deleted[1].Stored);
        Assert.Equal(new WindowWriteResult(true, 0, deleted[2].Stored), deleted[2]);
        Assert.Equal(["fixed-window/b"], (await store.LoadAsync()).Select(window => window.Id));
        Assert.False(await redis.Database.HashExistsAsync(store.HashKey, "fixed-window/a"));
        Assert.Null(await redis.Database.SortedSetScoreAsync(store.ExpiryKey, "fixed-window/a"));
    }

    [Fact]
    public async Task Deleting_the_last_window_removes_both_keys()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var written = (await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 1)], store.Clock.GetUtcNow().AddHours(1))))[0];

        await store.WriteAsync(new WindowWrite("fixed-window/a", written.ETag, [], null));

        Assert.False(await redis.Database.KeyExistsAsync(store.HashKey));
        Assert.False(await redis.Database.KeyExistsAsync(store.ExpiryKey));
    }

    [Fact]
    public async Task A_window_is_pruned_and_no_longer_loaded_once_the_clock_reaches_its_expiry()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var now = store.Clock.GetUtcNow();
        await store.WriteAsync(
            new WindowWrite("fixed-window/short", 0, [new(T0, 1)], now.AddMinutes(1)),
            new WindowWrite("fixed-window/long", 0, [new(T0, 2)], now.AddHours(1)));

        store.Clock.Advance(TimeSpan.FromMinutes(1) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(["fixed-window/long", "fixed-window/short"], (await store.LoadAsync()).Select(window => window.Id).Order(StringComparer.Ordinal));

        store.Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(["fixed-window/long"], (await store.LoadAsync()).Select(window => window.Id));
        Assert.False(await redis.Database.HashExistsAsync(store.HashKey, "fixed-window/short"));
        Assert.Null(await redis.Database.SortedSetScoreAsync(store.ExpiryKey, "fixed-window/short"));
        Assert.Equal(1, await redis.Database.SortedSetLengthAsync(store.ExpiryKey));
    }

    [Fact]
    public async Task An_expired_window_counts_as_absent_when_written()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var expired = (await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 1)], store.Clock.GetUtcNow().AddMinutes(1))))[0];
        store.Clock.Advance(TimeSpan.FromMinutes(2));

        var stale = (await store.WriteAsync(new WindowWrite("fixed-window/a", expired.ETag, [new(T0, 3)], store.Clock.GetUtcNow().AddHours(1))))[0];
        var fresh = (await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 3)], store.Clock.GetUtcNow().AddHours(1))))[0];

        Assert.Equal(new WindowWriteResult(false, 0, stale.Stored), stale);
        Assert.Empty(stale.Stored);
        Assert.True(fresh.Written);
        Assert.True(fresh.ETag > expired.ETag);
    }

    [Fact]
    public async Task More_expired_windows_than_one_call_prunes_are_never_loaded_and_go_over_several_calls()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var now = store.Clock.GetUtcNow();
        var writes = Enumerable.Range(0, 1_500)
            .Select(i => new WindowWrite($"fixed-window/expiring/{i}", 0, [new(T0, 1)], now.AddMinutes(1)))
            .Append(new WindowWrite("fixed-window/live", 0, [new(T0, 2)], now.AddHours(1)))
            .ToArray();
        await store.WriteAsync(writes);
        store.Clock.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(["fixed-window/live"], (await store.LoadAsync()).Select(window => window.Id));
        Assert.Equal(501, await redis.Database.SortedSetLengthAsync(store.ExpiryKey));
        Assert.Equal(502, await redis.Database.HashLengthAsync(store.HashKey));

        Assert.Equal(["fixed-window/live"], (await store.LoadAsync()).Select(window => window.Id));
        Assert.Equal(1, await redis.Database.SortedSetLengthAsync(store.ExpiryKey));
        Assert.Equal(2, await redis.Database.HashLengthAsync(store.HashKey));
    }

    [Fact]
    public async Task Both_keys_expire_with_the_latest_window_by_the_callers_clock()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var now = store.Clock.GetUtcNow();
        var elapsed = Stopwatch.StartNew();
        var written = await store.WriteAsync(
            new WindowWrite("fixed-window/short", 0, [new(T0, 1)], now.AddMinutes(10)),
            new WindowWrite("fixed-window/long", 0, [new(T0, 1)], now.AddHours(1)));
        await AssertExpiresInAsync(store, TimeSpan.FromHours(1), elapsed);

        elapsed.Restart();
        await store.WriteAsync(new WindowWrite("fixed-window/long", written[1].ETag, [], null));
        await AssertExpiresInAsync(store, TimeSpan.FromMinutes(10), elapsed);

        store.Clock.Advance(TimeSpan.FromMinutes(4));
        elapsed.Restart();
        await store.LoadAsync();
        await AssertExpiresInAsync(store, TimeSpan.FromMinutes(6), elapsed);
    }

    [Fact]
    public async Task An_etag_never_comes_back_after_a_delete_nor_after_the_partition_vanished()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);
        var first = (await store.WriteAsync(
            new WindowWrite("fixed-window/a", 0, [new(T0, 1)], expiresAt),
            new WindowWrite("fixed-window/keep", 0, [new(T0, 1)], expiresAt)))[0];
        await store.WriteAsync(new WindowWrite("fixed-window/a", first.ETag, [], null));

        var second = (await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 2)], expiresAt)))[0];
        await store.WriteAsync(
            new WindowWrite("fixed-window/a", second.ETag, [], null),
            new WindowWrite("fixed-window/keep", 0, [], null, Replace: true));
        Assert.False(await redis.Database.KeyExistsAsync(store.HashKey));

        var third = (await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 3)], expiresAt)))[0];
        var staleFirst = (await store.WriteAsync(new WindowWrite("fixed-window/a", first.ETag, [new(T0, 9)], expiresAt)))[0];
        var staleSecond = (await store.WriteAsync(new WindowWrite("fixed-window/a", second.ETag, [new(T0, 9)], expiresAt)))[0];

        Assert.Equal(first.ETag + 2, second.ETag);
        Assert.True(third.ETag > second.ETag);
        Assert.Equal(new WindowWriteResult(false, third.ETag, staleFirst.Stored), staleFirst);
        Assert.Equal(new WindowWriteResult(false, third.ETag, staleSecond.Stored), staleSecond);
        Assert.Equal([new WindowBucket(T0, 3)], staleSecond.Stored);
    }

    [Fact]
    public async Task Two_thousand_windows_are_written_in_one_script_call_and_loaded_in_one()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);

        // The client sends each script once with EVAL (and SCRIPT LOAD) per connection, then only its hash.
        await store.LoadAsync();
        await store.WriteAsync(new WindowWrite("fixed-window/absent", 0, [], null));
        var writes = Enumerable.Range(0, 2_000)
            .Select(i => new WindowWrite($"sliding-window-counter/100/1/hour/prefix/scope/client-{i}", 0, [new(T0, i), new(T0 + 1, 1)], expiresAt))
            .ToArray();
        var before = await store.CommandCallsAsync();

        var results = await store.WriteAsync(writes);
        var afterWrite = await store.CommandCallsAsync();
        var loaded = await store.LoadAsync();
        var afterLoad = await store.CommandCallsAsync();

        Assert.Equal(1, afterWrite.GetValueOrDefault("evalsha") - before.GetValueOrDefault("evalsha"));
        Assert.Equal(1, afterLoad.GetValueOrDefault("evalsha") - afterWrite.GetValueOrDefault("evalsha"));
        Assert.Equal(before.GetValueOrDefault("eval"), afterLoad.GetValueOrDefault("eval"));
        Assert.Equal(before.GetValueOrDefault("script|load"), afterLoad.GetValueOrDefault("script|load"));
        Assert.Equal(Enumerable.Range(0, 2_000).Select(i => results[0].ETag + i), results.Select(result => result.ETag));
        Assert.All(results, result => Assert.True(result.Written));
        Assert.Equal(2_000, loaded.Count);
        var byId = loaded.ToDictionary(window => window.Id);
        Assert.All(writes.Select((write, i) => (write, i)), pair =>
        {
            Assert.Equal(results[pair.i].ETag, byId[pair.write.Id].ETag);
            Assert.Equal(pair.write.Buckets, byId[pair.write.Id].Buckets);
        });
    }

    [Fact]
    public async Task A_flushed_script_cache_is_loaded_again()
    {
        await using var store = await PartitionStore.StartAsync(redis.ConnectionString);
        var expiresAt = store.Clock.GetUtcNow().AddHours(1);
        var first = (await store.WriteAsync(new WindowWrite("fixed-window/a", 0, [new(T0, 1)], expiresAt)))[0];

        await store.Admin.ExecuteAsync("SCRIPT", "FLUSH");
        var second = (await store.WriteAsync(new WindowWrite("fixed-window/a", first.ETag, [new(T0, 2)], expiresAt)))[0];

        Assert.True(second.Written);
        Assert.Equal([new WindowBucket(T0, 2)], Assert.Single(await store.LoadAsync()).Buckets);
    }

    private static async Task AssertExpiresInAsync(PartitionStore store, TimeSpan expected, Stopwatch elapsed)
    {
        var hash = await PTtlAsync(store, store.HashKey);
        var expiry = await PTtlAsync(store, store.ExpiryKey);
        var longest = (long)expected.TotalMilliseconds;
        var shortest = longest - elapsed.ElapsedMilliseconds - 1;
        Assert.InRange(hash, shortest, longest);
        Assert.InRange(expiry, shortest, longest);
    }

    private static async Task<long> PTtlAsync(PartitionStore store, string key) => (long)await store.Admin.ExecuteAsync("PTTL", key);

}
