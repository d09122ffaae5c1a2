using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// A partition's flush waits on storage (held at a gate in front of the real Redis storage) while calls keep arriving: the
/// calls are answered from memory, and every hit ends up in storage exactly once.
/// </summary>
public sealed class InterleavedFlushTests(RedisServer redis) : IClassFixture<RedisServer>
{
    /// <summary>A 1-minute window is written every max(1 s, 60 s / 20) = 3 s after it changed.</summary>
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(3);

    /// <summary>Far below the storage timeout's 2 s (which never elapses here: the grains' clock only moves by flush intervals).</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _clock = new(TestClusters.Start);
    private readonly List<GatedPartitionStorage> _gates = [];
    private readonly CallStarts _calls = new();

    [Fact]
    public async Task Hits_are_answered_while_a_flush_waits_on_storage_and_the_next_flush_writes_them_once()
    {
        var serviceId = "interleave-" + Guid.NewGuid().ToString("N");
        var window = WindowKey(RateLimitStrategy.FixedWindow);
        await using var cluster = await StartGatedAsync(serviceId, "gated");
        using var metrics = new MetricRecorder(cluster);
        await cluster.Client.HitAsync(window, 3);
        var gate = await HoldNextFlushAsync();

        var elapsed = Stopwatch.StartNew();
        for (var i = 1; i <= 5; i++)
        {
            var decision = await cluster.Client.HitAsync(window).AsTask().WaitAsync(Bound);
            Assert.Equal(new WindowDecision(true, new WindowStats(100 - 3 - i, TestClusters.Start.AddMinutes(1))), decision);
        }

        Assert.True(elapsed.Elapsed < Prompt, $"five hits took {elapsed.Elapsed} while a flush waited on storage");
        Assert.Equal(1, gate.Waiting);
        Assert.Null(await StoredCountAsync(serviceId, window));

        // The write that waited carries the snapshot taken before the five hits; they stay dirty for the next flush.
        gate.Open();
        await WaitForWritesAsync(metrics, 1);
        Assert.Equal(3, await StoredCountAsync(serviceId, window));
        _clock.Advance(FlushInterval);
        await WaitForWritesAsync(metrics, 2);
        Assert.Equal(8, await StoredCountAsync(serviceId, window));

        // Nothing is dirty any more: with one more hit, two more ticks write once.
        _clock.Advance(FlushInterval);
        await cluster.Client.HitAsync(window);
        _clock.Advance(FlushInterval);
        await WaitForWritesAsync(metrics, 3);
        Assert.Equal(9, await StoredCountAsync(serviceId, window));
        Assert.Equal(3, metrics["orleans_ratelimit.window.writes"]);
        Assert.Equal(0, metrics["orleans_ratelimit.window.conflicts_merged"]);
    }

    [Fact]
    public async Task No_hit_is_lost_or_doubled_across_many_held_writes_of_many_windows()
    {
        var serviceId = "interleave-many-" + Guid.NewGuid().ToString("N");
        var windows = TestWindows.ClientsOfOnePartition(6).Select(c => TestWindows.Of(c, "1000/minute")).ToList();
        await using var cluster = await StartGatedAsync(serviceId, "gated");
        var counted = new long[windows.Count];
        await HitAllAsync(cluster, windows, counted, round: 0);

        using var metrics = new MetricRecorder(cluster);
        for (var round = 1; round <= 4; round++)
        {
            var gate = await HoldNextFlushAsync();
            await HitAllAsync(cluster, windows, counted, round).WaitAsync(Bound);
            Assert.Equal(1, gate.Waiting);
            gate.Open();

            // Each held write carried every window (all were dirty and due), in one round trip.
            await WaitForWritesAsync(metrics, windows.Count * round);
        }

        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(windows[0]));

        for (var i = 0; i < windows.Count; i++)
        {
            Assert.Equal(counted[i], await StoredCountAsync(serviceId, windows[i]));
            Assert.Equal(1000 - counted[i], (await cluster.Client.StatsThroughHitAsync(windows[i])).Remaining);
        }
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task A_conflict_met_by_a_flush_merges_hits_that_arrived_during_the_write_exactly_once(RateLimitStrategy strategy)
    {
        // Two clusters sharing a service id and Redis but not membership, each with its own activation of one partition.
        var serviceId = "interleave-conflict-" + Guid.NewGuid().ToString("N");
        var window = WindowKey(strategy);
        await using var left = await TestClusters.StartAsync(1, _clock, UseRedis, serviceId, clusterId: "left");
        await using var right = await StartGatedAsync(serviceId, "right");
        using var rightMetrics = new MetricRecorder(right);
        Assert.Equal(100, (await left.Client.StatsAsync(window)).Remaining);
        Assert.Equal(100, (await right.Client.StatsAsync(window)).Remaining);
        await left.Client.HitAsync(window, 3);
        await right.Client.HitAsync(window, 4);
        await left.DeactivateAndWaitAsync(left.OwnerOf(window));
        Assert.Equal(3, await StoredCountAsync(serviceId, window));

        // The right partition's flush writes its snapshot (4) expecting no record, as it loaded none...
        var gate = await HoldNextFlushAsync();

        // ...and while that write waits, the window counts 5 more.
        Assert.Equal(91, (await right.Client.HitAsync(window, 5).AsTask().WaitAsync(Prompt)).Stats.Remaining);

        // The write conflicts and the partition merges the stored record with the window as it is now: 3 + 4 + 5.
        gate.Open();
        await TestClusters.WaitUntilAsync(
            () => Task.FromResult(rightMetrics["orleans_ratelimit.window.conflicts_merged"] == 1), Bound, "the conflict to be merged");
        Assert.Equal(88, (await right.Client.StatsAsync(window)).Remaining);
        Assert.Equal(3, await StoredCountAsync(serviceId, window));

        // The merged window is due at once: the next tick writes it.
        _clock.Advance(TimeSpan.FromSeconds(1));
        await WaitForWritesAsync(rightMetrics, 1);
        Assert.Equal(12, await StoredCountAsync(serviceId, window));

        await right.Client.HitAsync(window);
        await right.DeactivateAndWaitAsync(right.OwnerOf(window));
        Assert.Equal(13, await StoredCountAsync(serviceId, window));
        Assert.Equal(87, (await left.Client.StatsThroughHitAsync(window)).Remaining);
        Assert.Equal(1, rightMetrics["orleans_ratelimit.window.conflicts_merged"]);
        Assert.Equal(2, rightMetrics["orleans_ratelimit.window.writes"]);
    }

    [Fact]
    public async Task A_clear_during_a_flush_waits_for_it_and_leaves_the_window_empty_in_memory_and_in_storage()
    {
        var serviceId = "interleave-clear-" + Guid.NewGuid().ToString("N");
        var window = WindowKey(RateLimitStrategy.FixedWindow);
        await using var cluster = await StartGatedAsync(serviceId, "gated");
        using var metrics = new MetricRecorder(cluster);
        await cluster.Client.HitAsync(window, 3);
        var gate = await HoldNextFlushAsync();

        // The clear starts running beside the flush's timer tick, and waits for the flush without writing anything yet.
        var clear = cluster.Client.ClearAsync(window).AsTask();
        await _calls.Started(nameof(IWindowPartitionGrain.Clear), Bound);
        Assert.False(clear.IsCompleted);
        Assert.Equal(1, gate.Waiting);

        // The flush's write lands first (3), then the clear deletes the record.
        gate.Open();
        await clear.WaitAsync(Bound);
        Assert.Equal(2, metrics["orleans_ratelimit.window.writes"]);
        Assert.False(await StoredCounts.ExistsAsync(redis.Database, serviceId, window));
        Assert.Equal(100, (await cluster.Client.StatsAsync(window)).Remaining);

        // The cleared window counts from zero, in memory and in storage.
        await cluster.Client.HitAsync(window, 2);
        _clock.Advance(FlushInterval);
        await WaitForWritesAsync(metrics, 3);
        Assert.Equal(2, await StoredCountAsync(serviceId, window));
        await cluster.DeactivateAndWaitAsync(cluster.OwnerOf(window));
        Assert.Equal(98, (await cluster.Client.StatsThroughHitAsync(window)).Remaining);
    }

    private static RateLimitWindowKey WindowKey(RateLimitStrategy strategy) => TestWindows.Unique(strategy, "100/minute");

    /// <summary>Hits every window from many concurrent callers, a different number of times per window and round.</summary>
    private static async Task HitAllAsync(InProcessTestCluster cluster, List<RateLimitWindowKey> windows, long[] counted, int round)
    {
        var calls = new List<Task<WindowDecision>>();
        for (var i = 0; i < windows.Count; i++)
        {
            var hits = 3 + i + round;
            counted[i] += hits;
            for (var j = 0; j < hits; j++)
            {
                calls.Add(cluster.Client.HitAsync(windows[i]).AsTask());
            }
        }

        Assert.All(await Task.WhenAll(calls), d => Assert.True(d.Allowed));
    }

    private static Task WaitForWritesAsync(MetricRecorder metrics, long writes) =>
        TestClusters.WaitUntilAsync(
            () => Task.FromResult(metrics["orleans_ratelimit.window.writes"] >= writes), Bound, $"{writes} window writes");

    private void UseRedis(RateLimitGrainOptions options) => options.RedisConnectionString = redis.ConnectionString;

    /// <summary>
    /// Closes the gate and moves the grains' clock on a second at a time (the flush timer's period) until a flush's write
    /// waits at the gate.
    /// </summary>
    private async Task<GatedPartitionStorage> HoldNextFlushAsync()
    {
        var gate = _gates.Single();
        gate.Close();
        var blocked = gate.WriteBlocked(Bound);
        for (var step = 0; step < 2 * FlushInterval.TotalSeconds && !blocked.IsCompleted; step++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(blocked, Task.Delay(200));
        }

        await blocked;
        return gate;
    }

    private Task<InProcessTestCluster> StartGatedAsync(string serviceId, string clusterId) =>
        TestClusters.StartAsync(1, _clock, UseRedis, serviceId, clusterId, services =>
        {
            GatedPartitionStorage.AddTo(services, _gates);
            _calls.AddTo(services);
        });

    private Task<long?> StoredCountAsync(string serviceId, RateLimitWindowKey window) => StoredCounts.ReadAsync(redis.Database, serviceId, window);
}
