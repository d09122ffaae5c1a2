using System.Diagnostics.Metrics;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// The meter <c>Orleans.RateLimit.AspNetCore</c>, modelled on ASP.NET Core's <c>aspnetcore.rate_limiting.*</c> instruments:
/// requests by result and by the path that decided them, owner-call durations, lease grants and returns, and how often the
/// cluster could not decide and what decided instead. No tag carries a client key.
/// </summary>
internal sealed class RateLimitMetrics
{
    public const string MeterName = "Orleans.RateLimit.AspNetCore";

    // Owner calls take tens of microseconds when the cluster is healthy and end at the call timeout (50 ms by default) when
    // it is not; the default buckets (5 ms and up) would put every healthy call in the first one.
    private static readonly double[] OwnerCallBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _ownerCalls;
    private readonly Counter<long> _leaseGrants;
    private readonly Counter<long> _leaseUnitsGranted;
    private readonly Counter<long> _leaseUnitsReturned;
    private readonly Counter<long> _callFailures;
    private readonly Counter<long> _circuitTransitions;
    private readonly Counter<long> _degradedDecisions;
    private readonly Counter<long> _fallbackHits;
    private readonly RateLimitHealthState? _health;

    /// <param name="meterFactory">Creates the meter.</param>
    /// <param name="health">
    /// The health check's state, kept up to date from the failures, fallbacks and circuit transitions counted here; absent
    /// where stores are built by hand without a health check.
    /// </param>
    public RateLimitMetrics(IMeterFactory meterFactory, RateLimitHealthState? health = null)
    {
        _health = health;
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>(
            "orleans_ratelimit.requests", "{request}",
            "Requests the limiter decided, by result (allowed, limited, meta_limited, exempt) and by the path that decided them (leased, owner_call, fallback, memory).");
        _ownerCalls = meter.CreateHistogram(
            "orleans_ratelimit.owner_call.duration", "s", "How long calls to the partition grains that own windows took, by outcome (ok, timeout, error).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OwnerCallBuckets });
        _leaseGrants = meter.CreateCounter<long>(
            "orleans_ratelimit.lease.grants", "{grant}", "Budgets granted to this node by window owners.");
        _leaseUnitsGranted = meter.CreateCounter<long>(
            "orleans_ratelimit.lease.granted_units", "{unit}", "Units of quota granted to this node by window owners.");
        _leaseUnitsReturned = meter.CreateCounter<long>(
            "orleans_ratelimit.lease.returned_units", "{unit}", "Unused units of quota this node returned to window owners.");
        _fallbackHits = meter.CreateCounter<long>(
            "orleans_ratelimit.fallback.hits", "{hit}",
            "Hits admitted in memory while their owners could not be reached, by what became of them (handed_over to the owner, not_carried: past the bound of windows kept, or their period ended first).");
        _callFailures = meter.CreateCounter<long>(
            "orleans_ratelimit.store.call_failures", "{call}", "Window grain calls that failed or timed out.");
        _circuitTransitions = meter.CreateCounter<long>(
            "orleans_ratelimit.store.circuit_transitions", "{transition}", "Times the circuit to the cluster opened (state=open) or closed (state=closed).");
        _degradedDecisions = meter.CreateCounter<long>(
            "orleans_ratelimit.store.degraded_decisions", "{decision}", "Window decisions made without the cluster, by failure mode.");
    }

    /// <summary>Whether anyone listens to the request counter; lets the evaluator skip working out the tags.</summary>
    public bool RequestsEnabled => _requests.Enabled;

    public void RequestDecided(RateLimitResult result, DecisionPath path) =>
        _requests.Add(1, new KeyValuePair<string, object?>("orleans_ratelimit.result", ResultTag(result)), new KeyValuePair<string, object?>("orleans_ratelimit.path", PathTag(path)));

    public void OwnerCallEnded(TimeSpan duration, OwnerCallOutcome outcome)
    {
        if (_ownerCalls.Enabled)
        {
            _ownerCalls.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome switch
            {
                OwnerCallOutcome.Ok => "ok",
                OwnerCallOutcome.Timeout => "timeout",
                _ => "error",
            }));
        }
    }

    public void LeaseGranted(long units)
    {
        _leaseGrants.Add(1);
        _leaseUnitsGranted.Add(units);
    }

    public void LeaseReturned(long units) => _leaseUnitsReturned.Add(units);

    public void FallbackHitsHandedOver(long hits) => _fallbackHits.Add(hits, new KeyValuePair<string, object?>("outcome", "handed_over"));

    public void FallbackHitsNotCarried(long hits) => _fallbackHits.Add(hits, new KeyValuePair<string, object?>("outcome", "not_carried"));

    public void CallFailed(bool timedOut)
    {
        _health?.CallFailed();
        _callFailures.Add(1, new KeyValuePair<string, object?>("reason", timedOut ? "timeout" : "error"));
    }

    public void CircuitOpened()
    {
        _health?.CircuitOpened();
        _circuitTransitions.Add(1, new KeyValuePair<string, object?>("state", "open"));
    }

    public void CircuitClosed()
    {
        _health?.CircuitClosed();
        _circuitTransitions.Add(1, new KeyValuePair<string, object?>("state", "closed"));
    }

    public void DecidedWithout(RateLimitFailureMode mode)
    {
        _health?.DecidedWithout(mode);
        _degradedDecisions.Add(1, new KeyValuePair<string, object?>("failure_mode", mode switch
        {
            RateLimitFailureMode.FailOpen => "fail_open",
            RateLimitFailureMode.FailClosed => "fail_closed",
            _ => "memory",
        }));
    }

    private static string ResultTag(RateLimitResult result) => result switch
    {
        RateLimitResult.Allowed => "allowed",
        RateLimitResult.Limited => "limited",
        RateLimitResult.MetaLimited => "meta_limited",
        _ => "exempt",
    };

    private static string PathTag(DecisionPath path) => path switch
    {
        DecisionPath.Leased => "leased",
        DecisionPath.OwnerCall => "owner_call",
        DecisionPath.Fallback => "fallback",
        _ => "memory",
    };
}

/// <summary>How a request came out, for <c>orleans_ratelimit.requests</c>.</summary>
internal enum RateLimitResult
{
    Allowed,
    Limited,
    MetaLimited,
    Exempt,
}

/// <summary>How an owner call ended, for <c>orleans_ratelimit.owner_call.duration</c>.</summary>
internal enum OwnerCallOutcome
{
    Ok,
    Timeout,
    Error,
}
