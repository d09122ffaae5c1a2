using System.Collections.Concurrent;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// One timer for the deadline of every call to the cluster, instead of a timer per call. Calls that start within the same
/// quarter of the timeout share one cancellation token, which the timer cancels once the last of them has had the whole
/// timeout; Orleans then fails those of them still waiting (the callee is told too). A call therefore ends between 1 and
/// 1.25 timeouts after it started, and a request pays for a token lookup, not for a timer, a task or a continuation.
/// </summary>
/// <remarks>
/// Time this process stood still (a garbage collection, a starved thread pool: the timer ticks late by more than a tick) is
/// not counted against a call: its answer may be waiting to be read, and failing it would blame the cluster for a pause of
/// this process. The timer only runs while some slot's calls may still be waiting: a node whose windows are all decided from
/// leased budgets makes few calls, and a timer ticking four times a timeout for nothing costs it more CPU than its calls.
/// </remarks>
internal sealed class CallDeadlines : IDisposable
{
    private readonly ConcurrentQueue<Slot> _slots = new();
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly long _slotLength;
    private readonly long _timeout;
    private readonly TimeSpan _tick;
    private readonly ITimer _timer;
    private bool _timerRunning;
    private Slot _current;
    private int _ticking;
    private long _lastTick;
    private long _stalled;

    public CallDeadlines(TimeSpan timeout, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        Timeout = timeout;
        _time = time;
        var slot = timeout / 4 < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : timeout / 4;
        _slotLength = ToTimestamp(slot);
        _timeout = ToTimestamp(timeout);
        _tick = slot;
        _timer = WeakSweepTimer.Start(time, this, System.Threading.Timeout.InfiniteTimeSpan, static deadlines => deadlines.Tick());
        lock (_gate)
        {
            _current = Open(_time.GetTimestamp());
        }
    }

    public TimeSpan Timeout { get; }

    /// <summary>The token for a call starting now: cancelled at least <see cref="Timeout"/> from now, at most a quarter more.</summary>
    public CancellationToken Token()
    {
        var current = Volatile.Read(ref _current);
        var now = _time.GetTimestamp();
        if (now - current.OpenedAt < _slotLength)
        {
            return current.Source.Token;
        }

        lock (_gate)
        {
            if (now - _current.OpenedAt >= _slotLength)
            {
                Volatile.Write(ref _current, Open(now));
            }

            return _current.Source.Token;
        }
    }

    /// <summary>The failure to report for a call whose token <see cref="Token"/> gave was cancelled.</summary>
    public TimeoutException Expired() => new($"The call did not complete within {Timeout.TotalMilliseconds:0.###} ms.");

    public void Dispose() => _timer.Dispose();

    /// <summary>Opens a slot for the calls starting now, and starts the timer if it was idle. Called under the lock.</summary>
    private Slot Open(long now)
    {
        var slot = new Slot(now, Volatile.Read(ref _stalled), new CancellationTokenSource());
        _slots.Enqueue(slot);
        if (!_timerRunning)
        {
            // An idle timer is no stall: time is measured from its restart.
            _timerRunning = true;
            _lastTick = now;
            _timer.Change(_tick, _tick);
        }

        return slot;
    }

    private void Tick()
    {
        if (Interlocked.Exchange(ref _ticking, 1) == 1)
        {
            return;
        }

        try
        {
            var now = _time.GetTimestamp();
            var late = now - _lastTick - _slotLength;
            _lastTick = now;
            if (late > _slotLength)
            {
                Volatile.Write(ref _stalled, _stalled + late);
            }

            while (_slots.TryPeek(out var oldest) && now - oldest.OpenedAt - (_stalled - oldest.StalledBefore) >= _slotLength + _timeout)
            {
                // No call gets this slot's token any more: tokens are handed out for a slot's first quarter timeout only.
                _slots.TryDequeue(out _);

                // Cancelling runs the callbacks of the calls still waiting, here on the timer's thread; they only complete
                // their callers' tasks. The source has no timer of its own, so it needs no disposal.
                oldest.Source.Cancel();
            }

            if (_slots.IsEmpty)
            {
                lock (_gate)
                {
                    if (_slots.IsEmpty)
                    {
                        _timerRunning = false;
                        _timer.Change(System.Threading.Timeout.InfiniteTimeSpan, System.Threading.Timeout.InfiniteTimeSpan);
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    private long ToTimestamp(TimeSpan span) => (long)(span.Ticks * ((double)_time.TimestampFrequency / TimeSpan.TicksPerSecond));

    /// <param name="OpenedAt">When the slot's first call started.</param>
    /// <param name="StalledBefore">How long the process had stood still before, so its calls are not charged with it.</param>
    /// <param name="Source">Cancels the slot's calls.</param>
    private sealed record Slot(long OpenedAt, long StalledBefore, CancellationTokenSource Source);
}
