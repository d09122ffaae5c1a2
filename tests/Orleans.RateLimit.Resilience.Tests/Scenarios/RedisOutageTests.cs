using System.Globalization;
using Orleans.RateLimit.Resilience.Tests.Infrastructure;
using Orleans.RateLimit.Testing;
using Xunit.Abstractions;

namespace Orleans.RateLimit.Resilience.Tests.Scenarios;

/// <summary>
/// Embedded mode with windows written behind to Redis; redis-server is killed in the middle of a load and started again on
/// the same port 10 s later, empty (it keeps nothing on disk).
/// </summary>
public sealed class RedisOutageTests(ITestOutputHelper output)
{
    // Long enough to be persisted, high enough that the load never reaches it, so every count can be compared exactly.
    private const string Limit = "10000/hour";
    private const int Keys = 6;
    private const int Requests = 2500;
    private const int Concurrency = 6;

    private static readonly TimeSpan AnswerBound = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(25);
    private static readonly TimeSpan KillAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    /// <summary>Hour-long windows are written every 30 s by default (MaxFlushInterval); every 2 s here, so the test sees persistence catch up.</summary>
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_redis_outage_under_load_keeps_p99_under_100_ms_without_a_server_error_and_persistence_catches_up_without_losing_a_hit()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var redis = new RedisProcess();
        await redis.StartAsync();
        var serviceId = "redis-outage-" + Guid.NewGuid().ToString("N");
        await using var stored = new RedisWindows(redis.ConnectionString, serviceId);
        await using var node = await LoopbackPorts.StartAsync(2, ports => EmbeddedNode.StartAsync(clock, Limit, new Dictionary<string, string>
        {
            ["Clustering"] = "Localhost",
            ["Storage"] = "Redis",
            ["Redis"] = redis.ConnectionString,
            ["ServiceId"] = serviceId,
            ["ClusterId"] = serviceId,
            ["SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["Grains:MaxFlushInterval"] = "00:00:02",
        }));
        var openings = await node.WarmUpAsync(Limit);
        var keys = Enumerable.Range(0, Keys).Select(i => $"client-{i}").ToList();
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.000}s node up, warmed up (circuit opened {openings}x on the first requests)");

        using var threadPool = new ThreadPoolMonitor(clock);
        var loadStart = clock.Elapsed;
        var load = node.Load.RunAsync(new LoadPlan(keys, Requests, Concurrency, LoadDuration, LoadDuration + TimeSpan.FromSeconds(10)));
        await Task.Delay(KillAfter);
        var before = await CountsOnGrainsAsync(node, keys);
        redis.Stop();
        var killedAt = clock.Elapsed;
        await Task.Delay(Outage);
        await redis.StartAsync();
        var restartedAt = clock.Elapsed;
        var report = new LoadReport(await load);
        var loadEnd = clock.Elapsed;

        output.WriteLine($"load: {Requests} requests over {LoadDuration.TotalSeconds:0} s from {loadStart.TotalSeconds:0.000}s, {Concurrency} concurrent, {Keys} keys, limit {Limit}");
        output.WriteLine($"redis-server killed at {killedAt.TotalSeconds:0.000}s, started again (empty, same port) at {restartedAt.TotalSeconds:0.000}s");
        output.WriteLine(report.Describe("whole run"));
        output.WriteLine(report.Between(killedAt, restartedAt).Describe("while Redis was down"));
        output.WriteLine(report.Between(restartedAt, loadEnd).Describe("after Redis was back"));
        output.WriteLine("slowest:" + Environment.NewLine + report.Slowest(5));
        output.WriteLine(threadPool.DescribeStalls());
        output.WriteLine(node.Metrics.Describe());
        output.WriteLine(node.Metrics.DescribeWindowStorage());
        output.WriteLine($"circuit: opened {node.Logs.Circuit(CapturedLogs.FallingBack, node.WarmedUpAt).Count}x, recovered {node.Logs.Circuit(CapturedLogs.Recovered, node.WarmedUpAt).Count}x");
        foreach (var record in node.Logs.Problems(node.WarmedUpAt, max: 12))
        {
            output.WriteLine("  " + record);
        }

        Assert.Equal(Requests, report.Count);
        Assert.True(report.ServerErrors == 0 && report.Unanswered == 0, report.Failures(AnswerBound));
        Assert.True(report.P99 < AnswerBound, $"p99 {LoadReport.Ms(report.P99)}{Environment.NewLine}{report.Failures(AnswerBound)}");

        // Within a few flush intervals every window is in Redis again, with what its grain counts, once the node, idle, has
        // given back the unused part of the budgets it leased for these hot windows.
        var after = await CountsOnGrainsAsync(node, keys);
        await Wait.UntilAsync(
            async () =>
            {
                after = await CountsOnGrainsAsync(node, keys);
                return after.Sum() <= Requests && (await StoredCountsAsync(stored, keys)).SequenceEqual(after.Select(c => (long?)c));
            },
            4 * FlushInterval,
            "the leases to come back and Redis to hold every window's count",
            () => $"grains: {string.Join(", ", after)}; Redis: {string.Join(", ", StoredCountsAsync(stored, keys).GetAwaiter().GetResult())}");
        output.WriteLine($"counts before the outage: {string.Join(", ", before)}; after, on the grains and in Redis: {string.Join(", ", after)}");

        // No hit was lost: every request the grains decided is counted (a call that timed out is counted in memory and, when
        // the grain carries it out late, by the grain too), and no window went back below what it had counted before.
        var total = after.Sum();
        output.WriteLine($"counted by grains: {total} of {Requests} requests; decided in memory: {node.Metrics.MemoryDecisions}; {node.Metrics.DescribeWindowStorage()}");
        Assert.InRange(total, Requests - node.Metrics.MemoryDecisions, Requests);
        Assert.All(keys.Select((_, i) => after[i] - before[i]), growth => Assert.True(growth >= 0));
    }

    private static async Task<long[]> CountsOnGrainsAsync(EmbeddedNode node, IReadOnlyList<string> keys) =>
        await Task.WhenAll(keys.Select(key => WebNode.CountOnGrainAsync(node.Grains, Limit, key)));

    private static async Task<long?[]> StoredCountsAsync(RedisWindows stored, IReadOnlyList<string> keys) =>
        await Task.WhenAll(keys.Select(key => stored.CountAsync(WebNode.Window(Limit, key))));
}
