using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Flask-Limiter's "storage is dead" switch as a circuit breaker. A run of failed calls opens it (one slow call on a busy
/// machine does not), and while it is open no request waits on the cluster. Requests start a probe when one is due, after 1, 2, 4, 8, 16 and 32 seconds, then from
/// 1 second again (the original's lazy backoff); a probe that answers closes the circuit.
/// </summary>
internal sealed class StorageCircuit(
    Func<Task> probe, int failuresToOpen, TimeProvider time, bool fallbackEnabled, RateLimitMetrics metrics, ILogger<StorageCircuit> logger)
{
    private const int MaxBackoffExponent = 5;

    private readonly Lock _gate = new();
    private volatile bool _open;
    private bool _probing;
    private int _failedProbes;
    private DateTimeOffset _nextProbeAt;
    private int _consecutiveFailures;

    public bool IsOpen => _open;

    /// <summary>A call got its answer: a run of failures is broken.</summary>
    public void Succeeded()
    {
        // Read first: under load most calls succeed, and an unconditional write would make every core contend for this field.
        if (Volatile.Read(ref _consecutiveFailures) != 0)
        {
            Volatile.Write(ref _consecutiveFailures, 0);
        }
    }

    /// <summary>A call failed or timed out; the circuit opens when the run reaches its threshold.</summary>
    public void Failed(Exception failure)
    {
        if (Interlocked.Increment(ref _consecutiveFailures) >= failuresToOpen)
        {
            Trip(failure);
        }
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
            _failedProbes = 0;
            _nextProbeAt = time.GetUtcNow() + Backoff(0);
        }

        metrics.CircuitOpened();
        if (fallbackEnabled)
        {
            RateLimitLog.FallingBackToMemory(logger, failure);
        }
        else
        {
            RateLimitLog.StorageUnreachable(logger, failure);
        }
    }

    /// <summary>Starts a probe in the background if the circuit is open and one is due; never waits for it.</summary>
    public void ProbeIfDue()
    {
        lock (_gate)
        {
            if (!_open || _probing || time.GetUtcNow() < _nextProbeAt)
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
            await probe().ConfigureAwait(false);
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
                _nextProbeAt = time.GetUtcNow() + delay;
                _probing = false;
            }

            RateLimitLog.ProbeFailed(logger, delay, e);
            return;
        }

        lock (_gate)
        {
            _open = false;
            _probing = false;
            _consecutiveFailures = 0;
        }

        metrics.CircuitClosed();
        RateLimitLog.StorageRecovered(logger);
    }

    private static TimeSpan Backoff(int exponent) => TimeSpan.FromSeconds(1 << exponent);
}
