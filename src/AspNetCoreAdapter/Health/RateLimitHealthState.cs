namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// What the health check reports on, kept up to date by <see cref="RateLimitMetrics"/> from the calls it already receives:
/// whether the circuit to the cluster is open and since when, and the calls that failed and the windows decided without the
/// cluster, by failure mode, over the last <see cref="IntervalSeconds"/> seconds. Updates take no lock and allocate nothing.
/// </summary>
internal sealed class RateLimitHealthState
{
    /// <summary>
    /// How long a decision made without the cluster keeps the node degraded (or unhealthy, for a limit that failed closed):
    /// events are counted per second, over the current second and the 10 before it, so for 10 to 11 seconds. Kubernetes
    /// probes every 10 s by default: a shorter interval would let a probe miss a fallback that happened between two probes,
    /// and a longer one would keep a node reported degraded long after the cluster answers again.
    /// </summary>
    public const int IntervalSeconds = 10;

    /// <summary>A timestamp for "not yet": before any the clock can give.</summary>
    public const long Never = long.MinValue;

    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly RecentEvents _failedCalls = new();
    private readonly RecentEvents _inMemory = new();
    private readonly RecentEvents _failOpen = new();
    private readonly RecentEvents _failClosed = new();
    private long _circuitOpenedAt = Never;

    public RateLimitHealthState(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _origin = time.GetTimestamp();
    }

    public void CallFailed() => Record(_failedCalls);

    public void DecidedWithout(RateLimitFailureMode mode) => Record(mode switch
    {
        RateLimitFailureMode.FailOpen => _failOpen,
        RateLimitFailureMode.FailClosed => _failClosed,
        _ => _inMemory,
    });

    public void CircuitOpened() => Volatile.Write(ref _circuitOpenedAt, _time.GetTimestamp());

    public void CircuitClosed() => Volatile.Write(ref _circuitOpenedAt, Never);

    /// <summary>The state now.</summary>
    public RateLimitHealthSnapshot Read()
    {
        var now = _time.GetTimestamp();
        var utcNow = _time.GetUtcNow();
        var openedAt = Volatile.Read(ref _circuitOpenedAt);
        var second = SecondOf(now);
        var first = second - IntervalSeconds;
        var lastFailClosed = _failClosed.Last;
        return new RateLimitHealthSnapshot(
            CircuitOpenSince: openedAt == Never ? null : utcNow - _time.GetElapsedTime(openedAt, now),
            FailedCalls: _failedCalls.Count(first, second),
            DecidedInMemory: _inMemory.Count(first, second),
            DecidedFailOpen: _failOpen.Count(first, second),
            DecidedFailClosed: _failClosed.Count(first, second),
            FailedClosedWhileOpen: openedAt != Never && lastFailClosed != Never && lastFailClosed >= openedAt);
    }

    private void Record(RecentEvents events)
    {
        var now = _time.GetTimestamp();
        events.Record(SecondOf(now), now);
    }

    private long SecondOf(long timestamp) => (timestamp - _origin) / _time.TimestampFrequency;
}

/// <summary>The health state at one moment; the counts are over the interval of <see cref="RateLimitHealthState.IntervalSeconds"/>.</summary>
/// <param name="CircuitOpenSince">When the circuit to the cluster opened, if it is open.</param>
/// <param name="FailedCalls">Calls to the cluster that failed or timed out.</param>
/// <param name="DecidedInMemory">Windows counted in this process instead (<see cref="RateLimitFailureMode.FallbackToMemory"/>).</param>
/// <param name="DecidedFailOpen">Windows skipped (<see cref="RateLimitFailureMode.FailOpen"/>).</param>
/// <param name="DecidedFailClosed">Windows whose requests were rejected with 503 (<see cref="RateLimitFailureMode.FailClosed"/>).</param>
/// <param name="FailedClosedWhileOpen">Whether a limit failed closed since the circuit opened, if it is open.</param>
internal readonly record struct RateLimitHealthSnapshot(
    DateTimeOffset? CircuitOpenSince,
    long FailedCalls,
    long DecidedInMemory,
    long DecidedFailOpen,
    long DecidedFailClosed,
    bool FailedClosedWhileOpen)
{
    /// <summary>Whether a call failed, or a window was counted in memory or skipped, within the interval.</summary>
    public bool FallbackRecently => FailedCalls + DecidedInMemory + DecidedFailOpen > 0;

    /// <summary>Whether a limit failed closed within the interval.</summary>
    public bool FailedClosedRecently => DecidedFailClosed > 0;
}
