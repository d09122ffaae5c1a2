using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Flask-Limiter's "storage is dead" switch as a circuit breaker, opened by sustained failure only: calls have kept failing,
/// with none succeeding in between, for at least <c>failingFor</c>, and at least <c>failuresToOpen</c> of them failed. While
/// it is open no request waits on the cluster. Requests start a probe when one is due, after 1, 2, 4, 8, 16 and 32 seconds,
/// then from 1 second again (the original's lazy backoff); a probe that answers closes the circuit.
/// </summary>
/// <remarks>
/// Under load a pause of the cluster or of this process fails dozens of calls within a millisecond, while calls before and
/// after it succeed; counting failures alone would open the circuit on every such burst, and it would flap. Each of those
/// calls is decided by its limit's failure mode anyway, so the circuit only has to stop the waiting once failing is the
/// rule. The run is timed from its first failure and checked at each failure, so a dead cluster with little traffic opens
/// it too, at the first failure after <c>failingFor</c>.
/// </remarks>
internal sealed class StorageCircuit
{
    private const int MaxBackoffExponent = 5;

    private readonly Func<Task> _probe;
    private readonly int _failuresToOpen;
    private readonly TimeSpan _failingFor;
    private readonly TimeProvider _time;
    private readonly bool _fallbackEnabled;
    private readonly RateLimitMetrics _metrics;
    private readonly ILogger<StorageCircuit> _logger;
    private readonly Lock _gate = new();
    private volatile bool _open;
    private bool _probing;
    private int _failedProbes;
    private DateTimeOffset _nextProbeAt;

    // The run of failed calls under way: how many failed (0: none, the calls succeed) and when the first of them failed.
    private int _runFailures;
    private long _runStartedAt;

    public StorageCircuit(
        Func<Task> probe,
        int failuresToOpen,
        TimeSpan failingFor,
        TimeProvider time,
        bool fallbackEnabled,
        RateLimitMetrics metrics,
        ILogger<StorageCircuit> logger)
    {
        ArgumentNullException.ThrowIfNull(time);
        _probe = probe;
        _failuresToOpen = failuresToOpen;
        _failingFor = failingFor;
        _time = time;
        _fallbackEnabled = fallbackEnabled;
        _metrics = metrics;
        _logger = logger;
    }

    public bool IsOpen => _open;

    /// <summary>A call got its answer: a run of failures is broken.</summary>
    public void Succeeded()
    {
        // Read first: under load most calls succeed, and taking the lock or writing on each would make every core contend here.
        if (Volatile.Read(ref _runFailures) != 0)
        {
            lock (_gate)
            {
                _runFailures = 0;
            }
        }
    }

    /// <summary>A call failed or timed out; the circuit opens when the run has lasted long enough with enough failures.</summary>
    public void Failed(Exception failure)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            // Calls that were under way when the circuit opened end meanwhile; only a probe closes it again.
            if (_open)
            {
                return;
            }

            if (_runFailures == 0)
            {
                _runStartedAt = now;
            }

            _runFailures++;
            if (_runFailures < _failuresToOpen || _time.GetElapsedTime(_runStartedAt, now) < _failingFor)
            {
                return;
            }
        }

        Trip(failure);
    }

    /// <summary>Opens the circuit; once per outage, however many calls fail with it.</summary>
    public void Trip(Exception failure)
    {
        lock (_gate)
        {
            if (_open)
            {
                return;
            }

            _open = true;
            _runFailures = 0;
            _failedProbes = 0;
            _nextProbeAt = _time.GetUtcNow() + Backoff(0);
        }

        _metrics.CircuitOpened();
        if (_fallbackEnabled)
        {
            RateLimitLog.FallingBackToMemory(_logger, failure);
        }
        else
        {
            RateLimitLog.StorageUnreachable(_logger, failure);
        }
    }

    /// <summary>Starts a probe in the background if the circuit is open and one is due; never waits for it.</summary>
    public void ProbeIfDue()
    {
        lock (_gate)
        {
            if (!_open || _probing || _time.GetUtcNow() < _nextProbeAt)
            {
                return;
            }

            _probing = true;
        }

        _ = ProbeAsync();
    }

    private async Task ProbeAsync()
    {
        try
        {
            await _probe().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Any failure of the probe means the cluster is still unreachable.
        catch (Exception e)
#pragma warning restore CA1031
        {
            TimeSpan delay;
            lock (_gate)
            {
                _failedProbes = _failedProbes >= MaxBackoffExponent ? 0 : _failedProbes + 1;
                delay = Backoff(_failedProbes);
                _nextProbeAt = _time.GetUtcNow() + delay;
                _probing = false;
            }

            RateLimitLog.ProbeFailed(_logger, delay, e);
            return;
        }

        lock (_gate)
        {
            _open = false;
            _probing = false;
            _runFailures = 0;
        }

        _metrics.CircuitClosed();
        RateLimitLog.StorageRecovered(_logger);
    }

    private static TimeSpan Backoff(int exponent) => TimeSpan.FromSeconds(1 << exponent);
}
