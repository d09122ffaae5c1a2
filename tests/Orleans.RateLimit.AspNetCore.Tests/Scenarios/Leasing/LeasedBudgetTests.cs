using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// Hot windows are decided on each node from budgets leased from their owners: on two web nodes with embedded silos,
/// callers on both nodes never get more than the limit, and all but a sliver of it.
/// </summary>
public sealed class LeasedBudgetTests() : AdapterTestBase(Backend.Grains)
{
    private const int CallersPerNode = 6;
    private const int RefusalsToStop = 3;
    private const int MaxRequests = 4_000;

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task A_farm_wide_limit_of_1000_a_minute_admits_between_950_and_1000_to_callers_on_both_nodes(RateLimitStrategy strategy)
    {
        await using var app = await StartAsync(
            o => o.Strategy = strategy,
            a => a.MapGet("/farm", () => "ok").RateLimit("1000/minute", l => l.KeySelector(_ => "farm")));

        var admitted = await HammerAsync(app, "/farm");

        Assert.InRange(admitted, 950, 1000);
        Assert.True(LeasesHeld(app) > 0, "Neither node leased the farm-wide window.");
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task A_10_a_minute_limit_hit_alternately_on_two_nodes_admits_exactly_10(RateLimitStrategy strategy)
    {
        await using var app = await StartAsync(
            o => o.Strategy = strategy,
            a => a.MapGet("/ten", () => "ok").RateLimit("10/minute", l => l.Leasing(RateLimitLeasing.Always)));

        var statuses = new List<string>();
        for (var i = 0; i < 24; i++)
        {
            statuses.Add(await StatusesAsync(app.Nodes[i % 2], "/ten", 1));
        }

        Assert.Equal(10, statuses.Count(s => s == "200"));
        Assert.Equal(["429", "429", "429", "429"], statuses[^4..]);
        Assert.True(LeasesHeld(app) > 0, "No node leased the window.");
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task Headers_under_a_lease_count_down_exactly_on_the_only_node_deciding(RateLimitStrategy strategy)
    {
        await using var app = await StartAsync(
            o =>
            {
                o.Strategy = strategy;
                o.HeadersEnabled = true;
            },
            a => a.MapGet("/h", () => "ok").RateLimit("10/minute", l => l.Leasing(RateLimitLeasing.Always)));

        var remaining = new List<string>();
        for (var i = 0; i < 11; i++)
        {
            using var response = await app.Client.GetAsync("/h");
            remaining.Add($"{(int)response.StatusCode}:{response.Headers.GetValues("X-RateLimit-Remaining").Single()}");
        }

        Assert.Equal(
            ["200:9", "200:8", "200:7", "200:6", "200:5", "200:4", "200:3", "200:2", "200:1", "200:0", "429:0"],
            remaining);
    }

    [Fact]
    public async Task A_hot_window_is_decided_on_the_node_with_few_owner_calls_and_unleased_limits_call_every_time()
    {
        await using var app = await StartAsync(
            null,
            a =>
            {
                a.MapGet("/hot", () => "ok").RateLimit("10000/minute");
                a.MapGet("/owner", () => "ok").RateLimit("10000/minute", l => l.Leasing(RateLimitLeasing.Never));
            });
        using var calls = new OwnerCallCounter(app.Services.GetRequiredService<IMeterFactory>());

        Assert.Equal(string.Join(' ', Enumerable.Repeat("200", 200)), await StatusesAsync(app.Client, "/hot", 200));
        var hotCalls = calls.Count;
        Assert.Equal(string.Join(' ', Enumerable.Repeat("200", 20)), await StatusesAsync(app.Client, "/owner", 20));

        // Promotion takes 4 decisions; then a first grant of 8 and refills sized to the rate, bounded by a quarter of what remains.
        Assert.InRange(hotCalls, 5, 12);
        Assert.Equal(20, calls.Count - hotCalls);
    }

    /// <summary>
    /// Callers on both nodes send requests until each has been refused <see cref="RefusalsToStop"/> times in a row, so every
    /// budget a node still holds is spent before its callers stop.
    /// </summary>
    private static async Task<int> HammerAsync(TestApp app, string path)
    {
        var admitted = 0;
        var sent = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var callers = app.Nodes.SelectMany(node => Enumerable.Range(0, CallersPerNode).Select(async _ =>
        {
            var refusedInARow = 0;
            while (refusedInARow < RefusalsToStop && Interlocked.Increment(ref sent) <= MaxRequests)
            {
                using var response = await node.GetAsync(path, timeout.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref admitted);
                    refusedInARow = 0;
                }
                else
                {
                    Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
                    refusedInARow++;
                }
            }
        }));
        await Task.WhenAll(callers);
        Assert.True(sent <= MaxRequests, $"The callers sent {sent} requests without being refused on both nodes.");
        return admitted;
    }

    private static int LeasesHeld(TestApp app) =>
        Enumerable.Range(0, app.Nodes.Count).Sum(i => app.ServicesOf(i).GetRequiredService<RateLimitStores>().Leased!.Count);

    /// <summary>
    /// Counts the owner calls of one node from the moment it is made: the node's meters come from its own factory, so the
    /// nodes of tests running meanwhile in this process are not counted.
    /// </summary>
    private sealed class OwnerCallCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private int _count;

        public OwnerCallCounter(IMeterFactory node)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, node)
                    && instrument.Meter.Name == RateLimitMetrics.MeterName
                    && instrument.Name == "orleans_ratelimit.owner_call.duration")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _count));
            _listener.Start();
        }

        public int Count => Volatile.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
