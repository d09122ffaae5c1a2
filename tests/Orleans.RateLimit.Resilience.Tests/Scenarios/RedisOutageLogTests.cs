using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;
using Orleans.RateLimit.Resilience.Tests.Infrastructure;
using Orleans.RateLimit.Testing;
using Xunit.Abstractions;

namespace Orleans.RateLimit.Resilience.Tests.Scenarios;

/// <summary>
/// What an operator reads during a Redis outage: embedded mode with windows written behind to Redis, redis-server killed
/// under load, partitions activated while it is down, and redis-server started again (empty) on the same port.
/// </summary>
public sealed partial class RedisOutageLogTests(ITestOutputHelper output)
{
    private const string StorageCategory = "Orleans.RateLimit.Silo.RedisWindowPartitionStorage";
    private const string Writes = "window writes";
    private const string Loads = "partition loads";

    // Long enough to be persisted, high enough that the load never reaches it.
    private const string Limit = "10000/hour";
    private const int Keys = 6;
    private const int FreshPartitions = 3;
    private const int Requests = 1200;
    private const int Concurrency = 4;

    private static readonly TimeSpan KillAfter = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan LoadDuration = KillAfter + Outage + TimeSpan.FromSeconds(3);
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Each_kind_of_failed_redis_call_logs_one_warning_with_the_exception_when_it_starts_and_one_information_when_it_ends_and_metrics_count_every_failure()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var redis = new RedisProcess();
        await redis.StartAsync();
        var serviceId = "redis-outage-logs-" + Guid.NewGuid().ToString("N");
        await using var node = await LoopbackPorts.StartAsync(2, ports => EmbeddedNode.StartAsync(clock, Limit, new Dictionary<string, string>
        {
            ["Clustering"] = "Localhost",
            ["Storage"] = "Redis",

            // Commands queued while Redis is away fail after 1 s instead of 5, so a few seconds of outage fail several writes.
            ["Redis"] = redis.ConnectionString + ",connectTimeout=1000,asyncTimeout=1000,syncTimeout=1000",
            ["ServiceId"] = serviceId,
            ["ClusterId"] = serviceId,
            ["SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
            ["Grains:MaxFlushInterval"] = "00:00:01",
        }));
        await node.WarmUpAsync(Limit);
        var keys = Enumerable.Range(0, Keys).Select(i => $"client-{i}").ToList();
        var fresh = KeysOfUnusedPartitions([.. keys, "warm-up"], FreshPartitions);

        var load = node.Load.RunAsync(new LoadPlan(keys, Requests, Concurrency, LoadDuration, LoadDuration + TimeSpan.FromSeconds(5)));
        await Task.Delay(KillAfter);
        redis.Stop();
        var killedAt = clock.Elapsed;

        // Partitions that activate now load nothing: each load is given up after the storage timeout (2 s).
        var activations = await Task.WhenAll(fresh.Select(node.Load.SendAsync));
        await Task.Delay(TimeSpan.FromTicks(Math.Max(0, (Outage - (clock.Elapsed - killedAt)).Ticks)));
        await redis.StartAsync();
        var restartedAt = clock.Elapsed;
        var report = new LoadReport(await load);
        await Wait.UntilAsync(
            () => Task.FromResult(StorageLines(node).Count(r => r.Level == LogLevel.Information) >= 2),
            RecoveryBound,
            "the storage to log that loads and writes work again",
            () => Describe(node));

        output.WriteLine($"redis-server killed at {killedAt.TotalSeconds:0.000}s, started again (empty) at {restartedAt.TotalSeconds:0.000}s");
        output.WriteLine(report.Describe("load"));
        output.WriteLine(string.Join(Environment.NewLine, activations.Select(a => "fresh partition: " + a)));
        output.WriteLine(node.Metrics.DescribeWindowStorage());
        output.WriteLine(Describe(node));

        Assert.True(report.ServerErrors == 0 && report.Unanswered == 0, report.Failures(TimeSpan.FromMilliseconds(100)));
        Assert.All(activations, a => Assert.True(a.Admitted, a.ToString()));

        // Per kind: the Warning, with the exception, then the Information that closes it, without one; nothing else.
        var lines = StorageLines(node);
        Assert.Equal(4, lines.Count);
        var writesFailing = Assert.Single(lines, r => r.Level == LogLevel.Warning && r.Message.StartsWith("Redis " + Writes, StringComparison.Ordinal));
        var loadsFailing = Assert.Single(lines, r => r.Level == LogLevel.Warning && r.Message.StartsWith("Redis " + Loads, StringComparison.Ordinal));
        var writesBack = Assert.Single(lines, r => r.Level == LogLevel.Information && r.Message.StartsWith("Redis " + Writes, StringComparison.Ordinal));
        var loadsBack = Assert.Single(lines, r => r.Level == LogLevel.Information && r.Message.StartsWith("Redis " + Loads, StringComparison.Ordinal));
        Assert.All([writesFailing, loadsFailing], r => Assert.NotNull(r.Exception));
        Assert.All([writesBack, loadsBack], r => Assert.Null(r.Exception));
        Assert.True(writesFailing.At >= killedAt && writesBack.At > writesFailing.At && writesBack.At >= restartedAt, Describe(node));
        Assert.True(loadsFailing.At >= killedAt && loadsBack.At > loadsFailing.At && loadsBack.At >= restartedAt, Describe(node));
        Assert.Contains("further failures are only counted, in orleans_ratelimit.window.write_failures", writesFailing.Message, StringComparison.Ordinal);
        Assert.Contains("further failures are only counted, in orleans_ratelimit.window.read_failures", loadsFailing.Message, StringComparison.Ordinal);

        // The metrics count every failure the two lines stand for: each given-up load once, each window of a failed write.
        // Each fresh partition's load fails once, unless something else activated that partition before the outage or its
        // load only started once Redis was back (a slow machine): then fewer fail, never more, and never one twice.
        Assert.InRange(node.Metrics["window.read_failures"], 1, FreshPartitions);
        Assert.Equal(node.Metrics["window.read_failures"], FailedCalls(loadsBack));
        Assert.InRange(FailedCalls(writesBack), 1, node.Metrics["window.write_failures"]);

        // No other line of the limiter's categories, bar the circuit's own pair per opening; at most one stack trace per
        // transition, on the Warning that starts it.
        var others = LimiterLines(node).Where(r => r.Category != StorageCategory && r.Level >= LogLevel.Warning).ToList();
        Assert.True(others.All(r => r.Category == CapturedLogs.CircuitCategory), Describe(node));
        Assert.Equal(node.Metrics.CircuitOpened, node.Logs.Circuit(CapturedLogs.FallingBack, node.WarmedUpAt).Count);
        Assert.Equal(node.Metrics.CircuitClosed, node.Logs.Circuit(CapturedLogs.Recovered, node.WarmedUpAt).Count);
        var withStackTraces = LimiterLines(node).Where(r => r.Exception is not null).ToList();
        Assert.All(withStackTraces, r => Assert.Equal(LogLevel.Warning, r.Level));
        Assert.Equal([writesFailing, loadsFailing], withStackTraces.Where(r => r.Category == StorageCategory).OrderBy(r => r == loadsFailing));
    }

    /// <summary>Keys whose partitions no key of <paramref name="used"/> shares, each in a partition of its own.</summary>
    private static List<string> KeysOfUnusedPartitions(IReadOnlyList<string> used, int count)
    {
        var taken = used.Select(PartitionOf).ToHashSet();
        var keys = new List<string>();
        for (var i = 0; keys.Count < count; i++)
        {
            var key = $"fresh-{i}";
            if (taken.Add(PartitionOf(key)))
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    private static int PartitionOf(string key) => WindowPartition.IndexOf(WebNode.Window(Limit, key).Key, WindowPartition.DefaultCount);

    private static long FailedCalls(LogRecord record) =>
        long.Parse(FailedCallsPattern().Match(record.Message).Groups[1].Value, CultureInfo.InvariantCulture);

    /// <summary>The limiter's own log lines (categories <c>Orleans.RateLimit.*</c>) at Information and above since the warm-up.</summary>
    private static List<LogRecord> LimiterLines(EmbeddedNode node) =>
        node.Logs.Records
            .Where(r => r.At >= node.WarmedUpAt && r.Level >= LogLevel.Information && r.Category.StartsWith("Orleans.RateLimit.", StringComparison.Ordinal))
            .ToList();

    private static List<LogRecord> StorageLines(EmbeddedNode node) => LimiterLines(node).Where(r => r.Category == StorageCategory).ToList();

    private static string Describe(EmbeddedNode node) =>
        $"{node.Metrics.DescribeWindowStorage()}; {node.Metrics.Describe()}{Environment.NewLine}"
        + string.Join(Environment.NewLine, LimiterLines(node).Select(r => "  " + r));

    [GeneratedRegex(@"after (\d+) failed calls over ")]
    private static partial Regex FailedCallsPattern();
}
