using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.RateLimit.Grains;
using Orleans.RateLimit.Resilience.Tests.Infrastructure;
using Orleans.RateLimit.Testing;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Xunit.Abstractions;

namespace Orleans.RateLimit.Resilience.Tests.Scenarios;

/// <summary>
/// Embedded mode, two web nodes, each with its silo, in one cluster (Redis membership, windows in Redis). The peer, a process
/// of the sample web app, is killed with SIGKILL in the middle of a load on the surviving node, which is in the test process.
/// </summary>
public sealed class PeerKilledTests(ITestOutputHelper output)
{
    private const string Limit = "100/minute";
    private const int Amount = 100;
    private const int KeysPerSilo = 4;
    private const int Requests = 2400;
    private const int Concurrency = 6;

    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan KillAfter = TimeSpan.FromSeconds(8);

    /// <summary>A one-minute window is written every 60 s / 20 = 3 s; a crash loses at most the hits of one such interval.</summary>
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Killing_a_peer_mid_load_answers_every_request_without_a_server_error_and_loosens_a_key_by_at_most_one_flush_interval()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var redis = new RedisProcess();
        await redis.StartAsync();
        var serviceId = "peer-killed-" + Guid.NewGuid().ToString("N");
        var ports = LoopbackPorts.Take(2);

        using var peer = NodeProcess.Start("peer web node", BuildOutput.WebAppDirectory, BuildOutput.WebAppAssembly, new Dictionary<string, string>
        {
            // Kestrel picks a free port and the peer logs it; the silo's ports must be known before it starts.
            ["Urls"] = "http://127.0.0.1:0",
            ["RateLimitSilo__Clustering"] = "Redis",
            ["RateLimitSilo__Storage"] = "Redis",
            ["RateLimitSilo__Redis"] = redis.ConnectionString,
            ["RateLimitSilo__ServiceId"] = serviceId,
            ["RateLimitSilo__ClusterId"] = serviceId,
            ["RateLimitSilo__SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["RateLimitSilo__GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
        });
        await using var node = await LoopbackPorts.StartAsync(2, nodePorts => EmbeddedNode.StartAsync(clock, Limit, new Dictionary<string, string>
        {
            ["Clustering"] = "Redis",
            ["Storage"] = "Redis",
            ["Redis"] = redis.ConnectionString,
            ["ServiceId"] = serviceId,
            ["ClusterId"] = serviceId,
            ["SiloPort"] = nodePorts[0].ToString(CultureInfo.InvariantCulture),
            ["GatewayPort"] = nodePorts[1].ToString(CultureInfo.InvariantCulture),
        }));

        await WaitForPeerAsync(node, peer);
        var openings = await node.WarmUpAsync(Limit);
        var membership = node.Services.GetRequiredService<IClusterMembershipService>();
        var peerAddress = membership.CurrentSnapshot.Members.Values.Single(m => m.SiloAddress.Endpoint.Port == ports[0]).SiloAddress;
        var (peerKeys, localKeys) = await PlaceKeysAsync(node, peerAddress);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.000}s cluster of 2 up, warmed up (circuit opened {openings}x on the first requests); keys on the peer: {string.Join(", ", peerKeys)}; on this node: {string.Join(", ", localKeys)}");

        using var threadPool = new ThreadPoolMonitor(clock);
        var loadStart = clock.Elapsed;
        var load = node.Load.RunAsync(new LoadPlan([.. peerKeys, .. localKeys], Requests, Concurrency, LoadDuration, LoadDuration + TimeSpan.FromSeconds(10)));
        await Task.Delay(KillAfter);
        peer.Kill();
        var killedAt = clock.Elapsed;
        var declaredDeadAt = WhenDeclaredDeadAsync(membership, peerAddress, clock);
        var report = new LoadReport(await load);

        var failover = report.Between(killedAt, killedAt + TimeSpan.FromSeconds(5));
        output.WriteLine($"load: {Requests} requests over {LoadDuration.TotalSeconds:0} s from {loadStart.TotalSeconds:0.000}s, {Concurrency} concurrent, {KeysPerSilo * 2} keys, limit {Limit} per key");
        output.WriteLine($"peer killed (SIGKILL) at {killedAt.TotalSeconds:0.000}s; declared dead by this silo at {Describe(await declaredDeadAt)}");
        output.WriteLine(report.Describe("whole run"));
        output.WriteLine(failover.Describe("first 5 s after the kill"));
        output.WriteLine("slowest:" + Environment.NewLine + report.Slowest(3));
        output.WriteLine(threadPool.DescribeStalls(5));
        output.WriteLine(node.Metrics.Describe());
        output.WriteLine($"circuit openings before the kill (calls must keep failing for a second): {node.Logs.Circuit(CapturedLogs.FallingBack, node.WarmedUpAt).Count(r => r.At < killedAt)}");
        foreach (var record in node.Logs.Circuit(node.WarmedUpAt))
        {
            output.WriteLine("  " + record);
        }

        var admitted = report.AdmittedPerKey();
        var overPeer = new LoadReport([.. report.Outcomes.Where(o => peerKeys.Contains(o.Key))]).OverLimitAdmissions(Amount);
        var overLocal = new LoadReport([.. report.Outcomes.Where(o => localKeys.Contains(o.Key))]).OverLimitAdmissions(Amount);
        output.WriteLine($"admitted per key: {string.Join(", ", admitted.Select(k => $"{k.Key} {k.Value}"))}");
        output.WriteLine($"over-limit admissions: {report.OverLimitAdmissions(Amount)} in all ({overPeer} on keys whose window was on the killed silo, {overLocal} on keys on the survivor)");
        output.WriteLine($"| 5xx | unanswered | p50 | p99 | max | over-limit admissions |");
        output.WriteLine($"| {report.ServerErrors} | {report.Unanswered} | {LoadReport.Ms(report.P50)} | {LoadReport.Ms(report.P99)} | {LoadReport.Ms(report.Max)} | {report.OverLimitAdmissions(Amount)} of {report.Admitted} admitted |");

        Assert.Equal(Requests, report.Count);
        Assert.True(report.ServerErrors == 0 && report.Unanswered == 0, report.Failures(TimeSpan.MaxValue));

        // A key whose window was on the killed silo carries on in memory from the count this node last had from its owner,
        // and what it admits there is handed to the window's new activation, which starts from Redis: the only hits counted
        // twice are those the killed silo had not written yet (one flush interval's). Not a second window, as before.
        var perKeyRate = (double)Requests / LoadDuration.TotalSeconds / (KeysPerSilo * 2);
        var lostHits = (int)Math.Ceiling(perKeyRate * FlushInterval.TotalSeconds);
        Assert.All(admitted, key => Assert.InRange(key.Value, Amount, Amount + lostHits));
    }

    private static string Describe(TimeSpan? at) => at is { } value ? $"{value.TotalSeconds:0.000}s" : "(not within the run)";

    /// <summary>Until the peer serves HTTP on the port it logged and this node's silo sees both silos active.</summary>
    private static async Task WaitForPeerAsync(EmbeddedNode node, NodeProcess peer)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var membership = node.Services.GetRequiredService<IClusterMembershipService>();
        int? peerHttpPort = null;
        await Wait.UntilAsync(
            async () =>
            {
                if (peer.HasExited)
                {
                    throw new InvalidOperationException($"The peer exited.{Environment.NewLine}{peer.RecentOutput()}");
                }

                if ((peerHttpPort ??= peer.ListeningPort()) is not { } port)
                {
                    return false;
                }

                try
                {
                    var health = await http.GetAsync(new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/health"));
                    return health.IsSuccessStatusCode && membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active) == 2;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(40),
            "the peer web node and a cluster of two silos",
            peer.RecentOutput);
    }

    /// <summary>
    /// Places the window partitions not yet active alternately on the peer and on this node's silo, with Orleans' placement
    /// hint (what grain migration uses), reads where every partition is, and picks <see cref="KeysPerSilo"/> keys whose
    /// owners are on each silo, so the kill hits a known half of the keys.
    /// </summary>
    private static async Task<(List<string> Peer, List<string> Local)> PlaceKeysAsync(EmbeddedNode node, SiloAddress peer)
    {
        var local = node.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var management = node.Grains.GetGrain<IManagementGrain>(0);
        var owners = Enumerable.Range(0, WindowPartition.DefaultCount)
            .Select(partition => node.Grains.GetGrain<IWindowPartitionGrain>(new WindowPartition(partition, WindowPartition.DefaultCount).GrainKey))
            .ToList();
        for (var partition = 0; partition < owners.Count; partition++)
        {
            RequestContext.Set(IPlacementDirector.PlacementHintKey, partition % 2 == 0 ? peer : local);
            try
            {
                await owners[partition].Count();
            }
            finally
            {
                RequestContext.Remove(IPlacementDirector.PlacementHintKey);
            }
        }

        var placed = (await management.GetDetailedGrainStatistics())
            .Where(s => s.GrainType.Contains("WindowPartitionGrain", StringComparison.Ordinal))
            .ToDictionary(s => s.GrainId, s => s.SiloAddress);
        var siloOf = new Dictionary<int, SiloAddress>();
        for (var partition = 0; partition < owners.Count; partition++)
        {
            siloOf[partition] = placed[owners[partition].GetGrainId()];
        }

        return (KeysOwnedOn(siloOf, peer, "peer-"), KeysOwnedOn(siloOf, local, "local-"));
    }

    private static List<string> KeysOwnedOn(Dictionary<int, SiloAddress> siloOf, SiloAddress silo, string prefix)
    {
        var keys = new List<string>();
        for (var n = 0; keys.Count < KeysPerSilo; n++)
        {
            var key = prefix + n.ToString(CultureInfo.InvariantCulture);
            if (siloOf[WindowPartition.IndexOf(key, WindowPartition.DefaultCount)].Equals(silo))
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    /// <summary>When this node's silo declares <paramref name="peer"/> dead; <see langword="null"/> if not within 30 s.</summary>
    private static async Task<TimeSpan?> WhenDeclaredDeadAsync(IClusterMembershipService membership, SiloAddress peer, System.Diagnostics.Stopwatch clock)
    {
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(30);
        while (clock.Elapsed < deadline)
        {
            if (membership.CurrentSnapshot.GetSiloStatus(peer) == SiloStatus.Dead)
            {
                return clock.Elapsed;
            }

            await Task.Delay(50);
        }

        return null;
    }
}
