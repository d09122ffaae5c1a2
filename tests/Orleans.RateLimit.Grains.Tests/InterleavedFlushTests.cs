using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// A window grain's flush waits on storage (held at a gate in front of real Redis storage) while calls keep arriving: the
/// calls are answered from memory, and every hit ends up in storage exactly once.
/// </summary>
public sealed class InterleavedFlushTests(RedisServer redis) : IClassFixture<RedisServer>
{
    /// <summary>A 1-minute window flushes every max(1 s, 60 s / 20) = 3 s.</summary>
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(3);

    /// <summary>Far below the storage timeout's 2 s (which never elapses here: the grains' clock only moves by flush intervals).</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _clock = new(TestClusters.Start);
    private readonly List<GatedGrainStorage> _gates = [];
    private readonly CallStarts _calls = new();

    [Fact]
    public async Task Hits_are_answered_while_a_flush_waits_on_storage_and_the_next_flush_writes_them_once()
    {
        var serviceId = "interleave-" + Guid.NewGuid().ToString("N");
        var key = WindowKey(RateLimitStrategy.FixedWindow);
        await using var cluster = await StartGatedAsync(serviceId, "gated");
        using var metrics = new MetricRecorder(cluster);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);
        await grain.Hit(3);
        var gate = await HoldNextFlushAsync();

        var elapsed = Stopwatch.StartNew();
        for (var i = 1; i <= 5; i++)
        {
            var decision = await grain.Hit(1).AsTask().WaitAsync(Bound);
            Assert.Equal(new WindowDecision(true, new WindowStats(100 - 3 - i, TestClusters.Start.AddMinutes(1))), decision);
        }

        Assert.True(elapsed.Elapsed < Prompt, $"five hits took {elapsed.Elapsed} while a flush waited on storage");
        Assert.Equal(1, gate.Waiting);
        Assert.Null(await StoredCountAsync(serviceId, key));

        // The write that waited carries the snapshot taken before the five hits; they stay dirty for the next flush.
        gate.Open();
        await WaitForWritesAsync(metrics, 1);
        Assert.Equal(3, await StoredCountAsync(serviceId, key));
        _clock.Advance(FlushInterval);
        await WaitForWritesAsync(metrics, 2);
        Assert.Equal(8, await StoredCountAsync(serviceId, key));

        // Nothing is dirty any more: with one more hit, two more ticks write once.
        _clock.Advance(FlushInterval);
        await grain.Hit(1);
        _clock.Advance(FlushInterval);
        await WaitForWritesAsync(metrics, 3);
        Assert.Equal(9, await StoredCountAsync(serviceId, key));
        Assert.Equal(3, metrics["orleans_ratelimit.window.writes"]);
        Assert.Equal(0, metrics["orleans_ratelimit.window.conflicts_merged"]);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task A_conflict_met_by_a_flush_merges_hits_that_arrived_during_the_write_exactly_once(RateLimitStrategy strategy)
    {
        // Two clusters sharing a service id and Redis but not membership, each with its own activation of one window.
        var serviceId = "interleave-conflict-" + Guid.NewGuid().ToString("N");
        var key = WindowKey(strategy);
        await using var left = await TestClusters.StartAsync(1, _clock, UseRedis, serviceId, clusterId: "left");
        await using var right = await StartGatedAsync(serviceId, "right");
        using var rightMetrics = new MetricRecorder(right);
        var leftGrain = left.Client.GetGrain<IRateLimitWindowGrain>(key);
        var rightGrain = right.Client.GetGrain<IRateLimitWindowGrain>(key);
        Assert.Equal(100, (await leftGrain.Stats()).Remaining);
        Assert.Equal(100, (await rightGrain.Stats()).Remaining);
        await leftGrain.Hit(3);
        await rightGrain.Hit(4);
        await left.DeactivateAndWaitAsync(leftGrain);
        Assert.Equal(3, await StoredCountAsync(serviceId, key));

        // The right window's flush writes its snapshot (4) against the record it read before the left one was written...
        var gate = await HoldNextFlushAsync();

        // ...and while that write waits, the window counts 5 more.
        Assert.Equal(91, (await rightGrain.Hit(5).AsTask().WaitAsync(Prompt)).Stats.Remaining);

        // The write conflicts, the flush reads the left record and merges it with the window as it is now: 3 + 4 + 5.
        gate.Open();
        await WaitForWritesAsync(rightMetrics, 1);
        Assert.Equal(1, rightMetrics["orleans_ratelimit.window.conflicts_merged"]);
        Assert.Equal(12, await StoredCountAsync(serviceId, key));
        Assert.Equal(88, (await rightGrain.Stats()).Remaining);

        await rightGrain.Hit(1);
        await right.DeactivateAndWaitAsync(rightGrain);
        Assert.Equal(13, await StoredCountAsync(serviceId, key));
        Assert.Equal(87, (await left.Client.GetGrain<IRateLimitWindowGrain>(key).Stats()).Remaining);
        Assert.Equal(1, rightMetrics["orleans_ratelimit.window.conflicts_merged"]);
    }

    [Fact]
    public async Task A_clear_during_a_flush_waits_for_it_and_leaves_storage_cleared()
    {
        var serviceId = "interleave-clear-" + Guid.NewGuid().ToString("N");
        var key = WindowKey(RateLimitStrategy.FixedWindow);
        await using var cluster = await StartGatedAsync(serviceId, "gated");
        using var metrics = new MetricRecorder(cluster);
        var grain = cluster.Client.GetGrain<IRateLimitWindowGrain>(key);
        await grain.Hit(3);
        var gate = await HoldNextFlushAsync();

        // The clear starts running beside the flush's timer tick, and waits for the flush without writing anything yet.
        var clear = grain.Clear().AsTask();
        await _calls.Started(nameof(IRateLimitWindowGrain.Clear), Bound);
        Assert.False(clear.IsCompleted);
        Assert.Equal(1, gate.Waiting);

        // The flush's write lands first (3), then the clear deletes the record.
        gate.Open();
        await clear.WaitAsync(Bound);
        Assert.Equal(2, metrics["orleans_ratelimit.window.writes"]);
        Assert.False(await redis.Database.KeyExistsAsync(StoredWindowKeys.For(serviceId, key)));
        Assert.Equal(100, (await grain.Stats()).Remaining);

        // The cleared window counts from zero, in memory and in storage.
        await grain.Hit(2);
        _clock.Advance(FlushInterval);
        await WaitForWritesAsync(metrics, 3);
        Assert.Equal(2, await StoredCountAsync(serviceId, key));
        await cluster.DeactivateAndWaitAsync(grain);
        Assert.Equal(98, (await grain.Stats()).Remaining);
    }

    private static string WindowKey(RateLimitStrategy strategy) =>
        new RateLimitWindowKey(strategy, RateLimitItem.Parse("100/minute"), "endpoint", Guid.NewGuid().ToString("N")).ToGrainKey();


    private static Task WaitForWritesAsync(MetricRecorder metrics, long writes) =>
        TestClusters.WaitUntilAsync(
            () => Task.FromResult(metrics["orleans_ratelimit.window.writes"] >= writes), Bound, $"{writes} window writes");

    private void UseRedis(RateLimitGrainOptions options) => options.RedisConnectionString = redis.ConnectionString;

    /// <summary>Closes the gate, lets the flush timer fire, and returns once the flush's write waits at the gate.</summary>
    private async Task<GatedGrainStorage> HoldNextFlushAsync()
    {
        var gate = _gates.Single();
        gate.Close();
        _clock.Advance(FlushInterval);
        await gate.WriteBlocked(Bound);
        return gate;
    }

    private Task<InProcessTestCluster> StartGatedAsync(string serviceId, string clusterId) =>
        TestClusters.StartAsync(1, _clock, UseRedis, serviceId, clusterId, services =>
        {
            GatedGrainStorage.AddTo(services, _gates);
            _calls.AddTo(services);
        });

    /// <summary>The count stored for a window (all its buckets); <see langword="null"/> when Redis has no record.</summary>
    private async Task<long?> StoredCountAsync(string serviceId, string grainKey)
    {
        var json = (string?)await redis.Database.HashGetAsync(StoredWindowKeys.For(serviceId, grainKey), "data");
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        var counts = document.RootElement.EnumerateObject().First(p => p.Name.Equals("Counts", StringComparison.OrdinalIgnoreCase)).Value;
        if (counts.ValueKind == JsonValueKind.Object && counts.TryGetProperty("$values", out var values))
        {
            counts = values;
        }

        return counts.EnumerateArray().Sum(count => count.GetInt64());
    }
}
