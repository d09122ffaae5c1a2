using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Where the evaluator counts windows: the primary store (window grains) behind a per-call timeout and a circuit, with the
/// in-memory store deciding instead, by each limit's failure mode, while the cluster can't answer. With the memory backend
/// there is nothing to fail over from and every call goes to the memory store.
/// </summary>
internal sealed class RateLimitStorage
{
    // Long enough for a cold process's first grain calls (connections, activations, JIT), short enough not to stall a start.
    private static readonly TimeSpan WarmUpTimeout = TimeSpan.FromSeconds(5);

    private readonly IRateLimitStore _primary;
    private readonly Func<Task>? _ping;
    private readonly MemoryRateLimitStore _memory;
    private readonly StorageCircuit? _circuit;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly RateLimitMetrics _metrics;
    private readonly RateLimitFailureMode _defaultMode;
    private readonly bool _fallbackEnabled;
    private readonly bool _fallbackLimits;

    public RateLimitStorage(
        IRateLimitStore primary,
        Func<Task>? ping,
        MemoryRateLimitStore memory,
        StorageCircuit? circuit,
        RateLimitOptions options,
        TimeProvider time,
        RateLimitMetrics metrics)
    {
        _primary = primary;
        _ping = ping;
        _memory = memory;
        _circuit = circuit;
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

    /// <summary>Counts a request; <see langword="null"/> when the limit is skipped (failing open, or replaced by the fallback limits).</summary>
    public ValueTask<WindowDecision?> HitAsync(LimitDefinition definition, RateLimitWindowKey window, int cost) =>
        DecideAsync(static (store, window, cost) => store.HitAsync(window, cost), definition, window, cost);

    /// <summary>Tests a request without counting it; <see langword="null"/> when the limit is skipped.</summary>
    public ValueTask<WindowDecision?> TestAsync(LimitDefinition definition, RateLimitWindowKey window, int cost) =>
        DecideAsync(static (store, window, cost) => store.TestAsync(window, cost), definition, window, cost);

    /// <summary>Tests a meta limit; <see langword="null"/> when the limit is skipped.</summary>
    public ValueTask<WindowDecision?> CheckMetaAsync(LimitDefinition definition, RateLimitWindowKey window, int cost) =>
        DecideAsync(static (store, window, cost) => store.CheckMetaAsync(window, cost), definition, window, cost);

    /// <summary>Reads a window; <see langword="null"/> when it can't be read.</summary>
    public ValueTask<WindowStats?> StatsAsync(LimitDefinition definition, RateLimitWindowKey window) =>
        DecideAsync(static (store, window, _) => store.StatsAsync(window), definition, window, 0);

    /// <summary>Counts one breach against a meta limit without waiting; in memory while the circuit is open.</summary>
    public void RecordBreach(RateLimitWindowKey window)
    {
        if (_circuit is { IsOpen: true })
        {
            if (_fallbackEnabled)
            {
                _memory.RecordBreach(window);
            }

            return;
        }

        _primary.RecordBreach(window);
    }

    private async ValueTask<T?> DecideAsync<T>(
        Func<IRateLimitStore, RateLimitWindowKey, int, ValueTask<T>> operation, LimitDefinition definition, RateLimitWindowKey window, int cost)
        where T : struct
    {
        if (_circuit is null || definition.Kind == LimitKind.Fallback)
        {
            return await operation(_memory, window, cost).ConfigureAwait(false);
        }

        Exception? failure = null;
        if (_circuit.IsOpen)
        {
            _circuit.ProbeIfDue();
        }
        else
        {
            var pending = operation(_primary, window, cost);
            try
            {
                var result = pending.IsCompletedSuccessfully ? pending.Result : await WithTimeout(pending.AsTask()).ConfigureAwait(false);
                _circuit.Succeeded();
                return result;
            }
#pragma warning disable CA1031 // Whatever the cluster failed with, the limit's failure mode decides the request.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failure = e;
                _metrics.CallFailed(e is TimeoutException);
                _circuit.Failed(e);
            }
        }

        var mode = ModeOf(definition);
        switch (mode)
        {
            case RateLimitFailureMode.FailOpen:
                _metrics.DecidedWithout(mode);
                return null;
            case RateLimitFailureMode.FailClosed:
                _metrics.DecidedWithout(mode);
                throw new RateLimitStorageUnavailableException(Unreachable(failure), failure) { FailedClosed = true };
            case RateLimitFailureMode.FallbackToMemory when IsReplacedByFallbackLimits(definition):
                return null;
            case RateLimitFailureMode.FallbackToMemory when _fallbackEnabled:
                _metrics.DecidedWithout(mode);
                return await operation(_memory, window, cost).ConfigureAwait(false);
            default:
                throw new RateLimitStorageUnavailableException(Unreachable(failure), failure);
        }
    }

    /// <summary>Waits for a grain call at most the call timeout; a call left behind still completes (or fails) on its own.</summary>
    private async Task<T> WithTimeout<T>(Task<T> call)
    {
        try
        {
            return await call.WaitAsync(_timeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Observed here so that its eventual failure is not reported as an unobserved task exception.
            _ = call.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw;
        }
    }

    private RateLimitFailureMode ModeOf(LimitDefinition definition) => definition.FailureMode ?? _defaultMode;

    private string Unreachable(Exception? failure) => failure switch
    {
        null => "Rate limit storage is unreachable; no grain is called until a probe gets an answer.",
        TimeoutException => $"Rate limit storage did not answer within {_timeout.TotalMilliseconds:0.###} ms (RateLimit:GrainCallTimeout).",
        _ => $"Rate limit storage failed: {failure.Message}",
    };
}
