using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// The layer the evaluator talks to: the primary store (partition grains) behind per-call deadlines and a circuit, with the
/// in-memory store deciding instead, by each limit's failure mode, while the cluster can't answer. Fallback limits are
/// always counted in memory. With the memory backend there is nothing to fail over from: the memory store is the primary
/// and there is no circuit.
/// </summary>
internal sealed class ResilientRateLimitStore : IRateLimitStore
{
    // Long enough for a cold process's first grain calls (connections, activations, JIT), short enough not to stall a start.
    private static readonly TimeSpan WarmUpTimeout = TimeSpan.FromSeconds(5);

    private readonly IRateLimitStore _primary;
    private readonly Func<Task>? _ping;
    private readonly MemoryRateLimitStore _memory;
    private readonly StorageCircuit? _circuit;
    private readonly ClusterFailover? _failover;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly RateLimitMetrics _metrics;
    private readonly RateLimitFailureMode _defaultMode;
    private readonly bool _fallbackEnabled;
    private readonly bool _fallbackLimits;

    public ResilientRateLimitStore(
        IRateLimitStore primary,
        Func<Task>? ping,
        MemoryRateLimitStore memory,
        StorageCircuit? circuit,
        ClusterFailover? failover,
        RateLimitOptions options,
        TimeProvider time,
        RateLimitMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _primary = primary;
        _ping = ping;
        _memory = memory;
        // The circuit opens by the options' rule, whatever rule it was built with.
        _circuit = circuit;
        _failover = failover;
        _timeout = options.GrainCallTimeout;
        _time = time;
        _metrics = metrics;
        _defaultMode = options.FailureMode;
        _fallbackLimits = options.InMemoryFallback.Count > 0;
        _fallbackEnabled = options.InMemoryFallbackEnabled || _fallbackLimits;
    }

    /// <summary>
    /// Calls the cluster once before requests arrive, without the short call timeout, so that no request pays for a cold
    /// process (first connection, first activations, first compilation) and trips the circuit; an unreachable cluster opens it.
    /// </summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        if (_ping is null || _circuit is null)
        {
            return;
        }

        try
        {
            await _ping().WaitAsync(WarmUpTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _metrics.CallFailed(e is TimeoutException);
            _circuit.Trip(e);
        }
    }

    /// <summary>Whether requests are limited by the in-memory fallback limits instead of their own right now.</summary>
    public bool FallbackLimitsActive
    {
        get
        {
            if (!_fallbackLimits || _circuit is not { IsOpen: true } circuit)
            {
                return false;
            }

            circuit.ProbeIfDue();
            return true;
        }
    }

    /// <summary>Whether <paramref name="definition"/> gives way to the in-memory fallback limits while the cluster is unreachable.</summary>
    public bool IsReplacedByFallbackLimits(LimitDefinition definition) =>
        _fallbackLimits
        && definition.Kind is not (LimitKind.Fallback or LimitKind.Meta)
        && ModeOf(definition) == RateLimitFailureMode.FallbackToMemory;

    public async ValueTask<int> DecideAsync(ReadOnlyMemory<WindowCheck> checks, Memory<StoreOutcome> outcomes)
    {
        if (_circuit is null)
        {
            return await _primary.DecideAsync(checks, outcomes).ConfigureAwait(false);
        }

        var walk = new Walk();
        var start = 0;
        while (start < checks.Length)
        {
            if (checks.Span[start].Definition.Kind == LimitKind.Fallback)
            {
                outcomes.Span[start] = StoreOutcome.Decided(_memory.Decide(checks.Span[start]), DecisionPath.Fallback);
            }
            else if (_circuit.IsOpen)
            {
                _circuit.ProbeIfDue();
                if (_failover is null || !_failover.TryDecideFromBudget(checks.Span[start], out outcomes.Span[start]))
                {
                    outcomes.Span[start] = WithoutCluster(checks.Span[start], failure: null);
                }
            }
            else
            {
                var end = start + 1;
                while (end < checks.Length && checks.Span[end].Definition.Kind != LimitKind.Fallback)
                {
                    end++;
                }

                var decided = await _primary.DecideAsync(checks[start..end], outcomes[start..end]).ConfigureAwait(false);
                var settled = -1;
                for (var i = start; i < start + decided && settled < 0; i++)
                {
                    walk.Called |= outcomes.Span[i].Path == DecisionPath.OwnerCall;
                    _failover?.Saw(checks.Span[i], outcomes.Span[i]);
                    ReplaceFailure(checks.Span[i], ref outcomes.Span[i], ref walk);
                    if (Settle(checks.Span[i], outcomes.Span[i], ref walk))
                    {
                        settled = i;
                    }
                }

                // A refusal is an answer too: under load many successful calls end in one, and each must break a run of
                // failures, or a cluster that answers with 429s while one silo is lost would look dead. A decision from a
                // leased budget is no answer from the cluster: it proves nothing about it.
                if (walk.Called && !walk.Failed)
                {
                    _circuit.Succeeded();
                    _failover?.OwnersAnswered();
                }

                if (settled >= 0)
                {
                    return settled + 1;
                }

                if (decided < end - start)
                {
                    return start + decided;
                }

                start = end;
                continue;
            }

            if (Settle(checks.Span[start], outcomes.Span[start], ref walk))
            {
                return start + 1;
            }

            start++;
        }

        return checks.Length;
    }

    /// <summary>Decides one check.</summary>
    public async ValueTask<StoreOutcome> DecideAsync(WindowCheck check)
    {
        var outcomes = new StoreOutcome[1];
        await DecideAsync(new[] { check }, outcomes).ConfigureAwait(false);
        return outcomes[0];
    }

    /// <summary>Counts one breach against a meta limit without waiting; in memory while the circuit is open.</summary>
    public void RecordBreach(RateLimitWindowKey metaWindow)
    {
        if (_circuit is not { IsOpen: true })
        {
            _primary.RecordBreach(metaWindow);
        }
        else if (_fallbackEnabled)
        {
            _memory.RecordBreach(metaWindow);
        }
    }

    /// <summary>
    /// Decides a check the cluster could not by its failure mode, counting one failure per failed call however many checks
    /// it carried.
    /// </summary>
    private void ReplaceFailure(in WindowCheck check, ref StoreOutcome outcome, ref Walk walk)
    {
        if (outcome.Kind != StoreOutcomeKind.FallBack)
        {
            return;
        }

        var failure = outcome.Failure;
        if (!walk.Failed || !ReferenceEquals(failure, walk.CountedFailure))
        {
            walk.Failed = true;
            walk.CountedFailure = failure;
            _metrics.CallFailed(failure is TimeoutException);
            _circuit!.Failed(failure ?? new TimeoutException());
        }

        outcome = WithoutCluster(check, failure);
    }

    /// <summary>
    /// Whether no check after this one is to be decided: a refusal that stops, a phase end after a refusal, a fallback, a
    /// failure.
    /// </summary>
    private static bool Settle(in WindowCheck check, in StoreOutcome outcome, ref Walk walk) => outcome.EndsChecks(check, ref walk.AnyRefused);

    private StoreOutcome WithoutCluster(in WindowCheck check, Exception? failure)
    {
        var mode = ModeOf(check.Definition);
        switch (mode)
        {
            case RateLimitFailureMode.FailOpen:
                _metrics.DecidedWithout(mode);
                return StoreOutcome.Skipped;
            case RateLimitFailureMode.FailClosed:
                _metrics.DecidedWithout(mode);
                return new StoreOutcome(
                    StoreOutcomeKind.FailClosed, default, new RateLimitStorageUnavailableException(Unreachable(failure), failure) { FailedClosed = true });
            case RateLimitFailureMode.FallbackToMemory when IsReplacedByFallbackLimits(check.Definition):
                return StoreOutcome.FallBack(failure);
            case RateLimitFailureMode.FallbackToMemory when _fallbackEnabled:
                _metrics.DecidedWithout(mode);
                return StoreOutcome.Decided(_failover is null ? _memory.Decide(check) : _failover.DecideInMemory(check), DecisionPath.Fallback);
            default:
                return new StoreOutcome(StoreOutcomeKind.Failed, default, new RateLimitStorageUnavailableException(Unreachable(failure), failure));
        }
    }

    private RateLimitFailureMode ModeOf(LimitDefinition definition) => definition.FailureMode ?? _defaultMode;

    private string Unreachable(Exception? failure) => failure switch
    {
        null => "Rate limit storage is unreachable; no grain is called until a probe gets an answer.",
        TimeoutException => $"Rate limit storage did not answer within {_timeout.TotalMilliseconds:0.###} ms (RateLimit:GrainCallTimeout).",
        _ => $"Rate limit storage failed: {failure.Message}",
    };

    /// <summary>What a walk over one request's outcomes has seen so far.</summary>
    private struct Walk
    {
        public bool AnyRefused;
        public bool Called;
        public bool Failed;
        public Exception? CountedFailure;
    }
}
