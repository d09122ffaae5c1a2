using Orleans.RateLimit.Resilience.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Orleans.RateLimit.Resilience.Tests.Scenarios;

/// <summary>
/// A web node in client mode loses its gateway: the silo process stops (connections refused) or hangs (SIGSTOP: connections
/// stay open, nothing answers). Requests must keep being answered quickly, limited in memory; the circuit must open once
/// calls have kept failing for a second (<c>RateLimit:CircuitBreakerDuration</c>), not before; and the grains must count
/// again once the silo is back.
/// </summary>
public sealed class ClientModeOutageTests(ITestOutputHelper output)
{
    private const string Limit = "20/hour";
    private const int Amount = 20;
    private const int CountedBeforeOutage = 5;
    private const int OutageRequests = 40;
    private const int AdmittedInMemory = Amount - CountedBeforeOutage;
    private const string ProbeFailedPrefix = "Rate limit storage still unreachable; next probe in ";

    private static readonly TimeSpan AnswerBound = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(40);

    /// <summary>A node gives back the unused part of a lease once the window has been idle for 2 s, at its next sweep (every second).</summary>
    private static readonly TimeSpan LeaseReturnTimeout = TimeSpan.FromSeconds(6);

    /// <summary>The default <c>RateLimit:CircuitBreakerDuration</c>, which the rig leaves as it is.</summary>
    private static readonly TimeSpan CircuitBreakerDuration = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How late after <see cref="CircuitBreakerDuration"/> the circuit may open: it opens at the first failure after it, and
    /// requests come every 100 ms (each waiting up to 62.5 ms for its call when the gateway hangs) on a busy machine.
    /// </summary>
    private static readonly TimeSpan OpeningSlack = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task With_the_gateway_unreachable_requests_are_limited_in_memory_within_100_ms_and_grains_count_again_after_a_restart()
    {
        await using var rig = await ClientModeRig.StartAsync(Limit);
        await WarmUpAsync(rig);
        await CountOnGrainsAsync(rig, "alice");

        await rig.Silo.StopAsync(TimeSpan.FromSeconds(30));
        var stoppedAt = rig.Clock.Elapsed;

        // Refused calls fail at once: the burst is over well within a second, each of its requests limited in memory.
        var outage = await rig.Load.RunAsync(LoadPlan.Burst(["alice"], OutageRequests, 4, TimeSpan.FromSeconds(10)));
        AssertLimitedInMemory(rig, new LoadReport(outage), $"silo stopped at {Seconds(stoppedAt)}");
        AssertOpenedOnSustainedFailure(rig, await SendUntilOpenedAsync(rig), stoppedAt);

        var traffic = SendUntilRecoveredAsync(rig);
        await rig.RestartSiloAsync();
        var readyAt = rig.Clock.Elapsed;
        AssertRecoveredOnSchedule(rig, await traffic, $"silo restarted, gateway listening at {Seconds(readyAt)}", readyAt, failedProbesAfterRepair: 0);

        // The owner read its 5 hits back from Redis, and is handed the 15 admitted in memory: the window is spent.
        await AssertHandedOverAsync(rig, "alice");
        await AssertGrainsCountAgainAsync(rig);
    }

    [Fact]
    public async Task With_the_gateway_hanging_requests_are_limited_in_memory_within_100_ms_and_grains_count_again_when_it_resumes()
    {
        await using var rig = await ClientModeRig.StartAsync(Limit);
        await WarmUpAsync(rig);
        await CountOnGrainsAsync(rig, "alice");

        await rig.Silo.PauseAsync();
        var pausedAt = rig.Clock.Elapsed;

        // Until the circuit opens every request waits out the 50 ms call timeout, and leaves its hit queued in the paused
        // silo, which carries it out when it resumes: a call the limiter stopped waiting for still completes (and its
        // request was counted in memory too). Another key's requests open the circuit, so alice's burst leaves no more hits
        // behind than the grain's window can take.
        AssertOpenedOnSustainedFailure(rig, await SendUntilOpenedAsync(rig), pausedAt);
        var timeoutsBefore = rig.Metrics.CallTimeouts;
        var outage = await rig.Load.RunAsync(LoadPlan.Burst(["alice"], OutageRequests, 4, TimeSpan.FromSeconds(10)));
        var leftBehind = rig.Metrics.CallTimeouts - timeoutsBefore;
        AssertLimitedInMemory(rig, new LoadReport(outage), $"silo paused (SIGSTOP) at {Seconds(pausedAt)}; {leftBehind} grain calls of alice left behind");

        var traffic = SendUntilRecoveredAsync(rig);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await rig.Silo.ResumeAsync();
        var resumedAt = rig.Clock.Elapsed;
        AssertRecoveredOnSchedule(rig, await traffic, $"silo resumed (SIGCONT) at {Seconds(resumedAt)}", resumedAt, failedProbesAfterRepair: 0);

        await AssertHandedOverAsync(rig, "alice");
        await AssertGrainsCountAgainAsync(rig);
    }

    private async Task WarmUpAsync(ClientModeRig rig)
    {
        var openings = await rig.WarmUpAsync(Limit);
        output.WriteLine($"{Seconds(rig.Clock.Elapsed)} warmed up; the circuit opened {openings}x on the first requests");
    }

    /// <summary>Counts five requests of <paramref name="key"/> by its window's owner, which writes them to Redis within a second.</summary>
    private async Task CountOnGrainsAsync(ClientModeRig rig, string key)
    {
        for (var i = 1; i <= CountedBeforeOutage; i++)
        {
            var outcome = await rig.Load.SendAsync(key);
            Assert.Equal((200, (long?)(Amount - i)), (outcome.Status, outcome.Remaining));
        }

        // Requests this close together make the window hot, so the node leases a budget from the owner, which counts the whole
        // grant until the node, idle, gives back what it did not use.
        var counted = 0L;
        await Wait.UntilAsync(
            async () => (counted = await WebNode.CountOnGrainAsync(rig.Grains, Limit, key)) == CountedBeforeOutage,
            LeaseReturnTimeout,
            $"the owner of '{key}' to count {CountedBeforeOutage} hits",
            () => $"it counts {counted}");
        Assert.Equal(0, rig.Metrics.MemoryDecisions);
        output.WriteLine($"{Seconds(rig.Clock.Elapsed)} {CountedBeforeOutage} requests of '{key}' counted by its window's owner");
    }

    private void AssertLimitedInMemory(ClientModeRig rig, LoadReport outage, string fault)
    {
        output.WriteLine(fault);
        output.WriteLine(outage.Describe($"outage burst ({OutageRequests} requests of one key, 4 concurrent)"));
        output.WriteLine(rig.Metrics.Describe());

        output.WriteLine("slowest:" + Environment.NewLine + outage.Slowest(3));
        output.WriteLine(rig.PoolMonitor.DescribeStalls());
        Assert.True(outage.Unanswered == 0 && outage.ServerErrors == 0 && outage.Max < AnswerBound, outage.Failures(AnswerBound));
        // The memory window starts from the 5 hits the owner had counted, not from zero.
        Assert.Equal((AdmittedInMemory, OutageRequests - AdmittedInMemory), (outage.Admitted, outage.Rejected));
        Assert.InRange(rig.Logs.Circuit(CapturedLogs.FallingBack, rig.WarmedUpAt).Count, 0, 1);
    }

    /// <summary>Sends a request of another key every 100 ms until the circuit opens, at most 5 s.</summary>
    private static async Task<LoadReport> SendUntilOpenedAsync(ClientModeRig rig)
    {
        var outcomes = new List<RequestOutcome>();
        var deadline = rig.Clock.Elapsed + TimeSpan.FromSeconds(5);
        while (rig.Logs.Circuit(CapturedLogs.FallingBack, rig.WarmedUpAt).Count == 0 && rig.Clock.Elapsed < deadline)
        {
            outcomes.Add(await rig.Load.SendAsync("carol"));
            await Task.Delay(100);
        }

        return new LoadReport(outcomes);
    }

    /// <summary>
    /// The circuit opened once, when calls had kept failing for <see cref="CircuitBreakerDuration"/> since the fault, not
    /// before and not much later; every request until then was answered in time, without a server error.
    /// </summary>
    private void AssertOpenedOnSustainedFailure(ClientModeRig rig, LoadReport traffic, TimeSpan faultAt)
    {
        output.WriteLine(traffic.Describe("traffic until the circuit opened (1 request / 100 ms)"));
        output.WriteLine(rig.Metrics.Describe());
        Assert.True(traffic.Unanswered == 0 && traffic.ServerErrors == 0 && traffic.Max < AnswerBound, traffic.Failures(AnswerBound));
        var opened = Assert.Single(rig.Logs.Circuit(CapturedLogs.FallingBack, rig.WarmedUpAt));
        output.WriteLine($"circuit opened at {Seconds(opened.At)}, {(opened.At - faultAt).TotalMilliseconds:0} ms after the fault");
        Assert.InRange(opened.At, faultAt + CircuitBreakerDuration, faultAt + CircuitBreakerDuration + OpeningSlack);
    }

    /// <summary>Sends a request every 100 ms until the circuit closes, at most <see cref="RecoveryTimeout"/>.</summary>
    private static async Task<LoadReport> SendUntilRecoveredAsync(ClientModeRig rig)
    {
        var outcomes = new List<RequestOutcome>();
        var deadline = rig.Clock.Elapsed + RecoveryTimeout;
        while (rig.Logs.Circuit(CapturedLogs.Recovered, rig.WarmedUpAt).Count == 0 && rig.Clock.Elapsed < deadline)
        {
            outcomes.Add(await rig.Load.SendAsync("bob"));
            await Task.Delay(100);
        }

        return new LoadReport(outcomes);
    }

    /// <summary>
    /// Every request until the circuit closed was answered in time without a server error; the circuit closed at a probe
    /// due by its backoff (1, 2, 4, … s after the last failure), after at most <paramref name="failedProbesAfterRepair"/>
    /// probes that failed although the silo could answer again.
    /// </summary>
    private void AssertRecoveredOnSchedule(ClientModeRig rig, LoadReport traffic, string repair, TimeSpan repairedAt, int failedProbesAfterRepair)
    {
        output.WriteLine(repair);
        var transitions = rig.Logs.Circuit(rig.WarmedUpAt);
        foreach (var record in transitions)
        {
            output.WriteLine("  " + record);
        }

        output.WriteLine(traffic.Describe("traffic until recovered (1 request / 100 ms)"));
        Assert.True(traffic.Unanswered == 0 && traffic.ServerErrors == 0 && traffic.Max < AnswerBound, traffic.Failures(AnswerBound));
        var recovered = rig.Logs.Circuit(CapturedLogs.Recovered, rig.WarmedUpAt);
        Assert.True(recovered.Count == 1, $"the circuit did not close within {RecoveryTimeout.TotalSeconds} s{Environment.NewLine}{rig.Silo.RecentOutput()}");

        // The probe that closed the circuit was the one due when the last failure said: it starts with the next request (one
        // every 100 ms) and a silo that has just come back takes a while to answer it; the next probe would be due 2 s later.
        var lastFailure = transitions.Last(r => r.At < recovered[0].At && r.Level != Microsoft.Extensions.Logging.LogLevel.Information);
        var due = lastFailure.At + NextProbeDelay(lastFailure);
        output.WriteLine($"probe due at {Seconds(due)}, circuit closed at {Seconds(recovered[0].At)}");
        Assert.InRange(recovered[0].At, due, due + TimeSpan.FromSeconds(1.5));

        // Probes that failed although they started after the repair: logged more than 100 ms after it (one that started before
        // fails at once, refused, or is answered once the paused silo resumes).
        var failedAfterRepair = transitions.Count(r => r.Message.StartsWith(ProbeFailedPrefix, StringComparison.Ordinal) && r.At > repairedAt + TimeSpan.FromMilliseconds(100));
        output.WriteLine($"probes that failed after the repair: {failedAfterRepair}");
        Assert.InRange(failedAfterRepair, 0, failedProbesAfterRepair);
    }

    /// <summary>The opening waits 1 s for its first probe; a failed probe says how long until the next.</summary>
    private static TimeSpan NextProbeDelay(LogRecord failure) =>
        failure.Message.StartsWith(ProbeFailedPrefix, StringComparison.Ordinal)
            ? TimeSpan.Parse(failure.Message[ProbeFailedPrefix.Length..], System.Globalization.CultureInfo.InvariantCulture)
            : TimeSpan.FromSeconds(1);

    /// <summary>After the recovery, a fresh key is limited by its grain: exactly the limit admitted, nothing decided in memory.</summary>
    private async Task AssertGrainsCountAgainAsync(ClientModeRig rig)
    {
        var memoryDecisions = rig.Metrics.MemoryDecisions;
        var fresh = new LoadReport(await rig.Load.RunAsync(LoadPlan.Burst(["erin"], Amount + 5, 4, TimeSpan.FromSeconds(10))));
        output.WriteLine(fresh.Describe("after recovery (25 requests of a fresh key)"));
        output.WriteLine(rig.Metrics.Describe());

        Assert.True(fresh.Unanswered == 0 && fresh.ServerErrors == 0 && fresh.Max < AnswerBound, fresh.Failures(AnswerBound));
        Assert.Equal((Amount, 5), (fresh.Admitted, fresh.Rejected));
        Assert.Equal(Amount, await WebNode.CountOnGrainAsync(rig.Grains, Limit, "erin"));
        Assert.Equal(memoryDecisions, rig.Metrics.MemoryDecisions);
        AssertCircuitStayedClosed(rig);
    }

    /// <summary>
    /// After the recovery the hits <paramref name="key"/> was admitted in memory reach its window's owner, handed over once
    /// owners answer again (requests of fresh keys, decided by their owners, make that happen): the owner counts the whole
    /// limit, and the key's next request is refused.
    /// </summary>
    private async Task AssertHandedOverAsync(ClientModeRig rig, string key)
    {
        var counted = 0L;
        var fresh = 0;
        await Wait.UntilAsync(
            async () =>
            {
                await rig.Load.SendAsync($"dave-{fresh++}");
                return (counted = await WebNode.CountOnGrainAsync(rig.Grains, Limit, key)) == Amount;
            },
            TimeSpan.FromSeconds(10),
            $"the owner of '{key}' to count the hits admitted in memory",
            () => $"it counts {counted}");
        output.WriteLine($"{Seconds(rig.Clock.Elapsed)} the owner of '{key}' counts {counted} after {fresh} requests of fresh keys");

        var outcome = await rig.Load.SendAsync(key);
        Assert.Equal((429, (long?)0), (outcome.Status, outcome.Remaining));
        AssertCircuitStayedClosed(rig);
    }

    /// <summary>Once recovered, the circuit stays closed: the cluster answers, so no call may open it again.</summary>
    private static void AssertCircuitStayedClosed(ClientModeRig rig)
    {
        var since = rig.Logs.Circuit(CapturedLogs.Recovered, rig.WarmedUpAt)[0].At;
        var reopened = rig.Logs.Circuit(CapturedLogs.FallingBack, since);
        Assert.True(reopened.Count == 0, $"the circuit opened again after the recovery: {string.Join(Environment.NewLine, reopened)}");
    }

    private static string Seconds(TimeSpan at) => $"{at.TotalSeconds:0.000}s";
}
