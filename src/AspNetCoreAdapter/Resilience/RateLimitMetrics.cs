using System.Diagnostics.Metrics;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>The meter <c>Orleans.RateLimit.AspNetCore</c>: how often the cluster could not decide and what decided instead.</summary>
internal sealed class RateLimitMetrics
{
    public const string MeterName = "Orleans.RateLimit.AspNetCore";

    private readonly Counter<long> _callFailures;
    private readonly Counter<long> _circuitTransitions;
    private readonly Counter<long> _degradedDecisions;

    public RateLimitMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _callFailures = meter.CreateCounter<long>(
            "orleans_ratelimit.store.call_failures", "{call}", "Window grain calls that failed or timed out.");
        _circuitTransitions = meter.CreateCounter<long>(
            "orleans_ratelimit.store.circuit_transitions", "{transition}", "Times the circuit to the cluster opened (state=open) or closed (state=closed).");
        _degradedDecisions = meter.CreateCounter<long>(
            "orleans_ratelimit.store.degraded_decisions", "{decision}", "Window decisions made without the cluster, by failure mode.");
    }

    public void CallFailed(bool timedOut) => _callFailures.Add(1, new KeyValuePair<string, object?>("reason", timedOut ? "timeout" : "error"));

    public void CircuitOpened() => _circuitTransitions.Add(1, new KeyValuePair<string, object?>("state", "open"));

    public void CircuitClosed() => _circuitTransitions.Add(1, new KeyValuePair<string, object?>("state", "closed"));

    public void DecidedWithout(RateLimitFailureMode mode) =>
        _degradedDecisions.Add(1, new KeyValuePair<string, object?>("failure_mode", mode switch
        {
            RateLimitFailureMode.FailOpen => "fail_open",
            RateLimitFailureMode.FailClosed => "fail_closed",
            _ => "memory",
        }));
}
