using System.Collections.Concurrent;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Counts windows in this process with the same window math the grains run. A timer sweeps away windows whose counts have
/// all aged out, so a flood of unique keys costs memory only while their windows last, and no request pays for the sweep.
/// </summary>
internal sealed class MemoryRateLimitStore : IRateLimitStore, IDisposable
{
    /// <summary>
    /// How often expired windows are swept. A sweep visits every window (25 to 45 ms for 200,000 on two cores), which every
    /// 10 s is well under 1% of one core; in exchange a window outlives its end by at most 10 s, so the store holds at most the
    /// windows opened during the longest limit's period plus 10 s. Sweeping more often would save little: a window lives its
    /// whole period anyway, and 10 s more is a sixth of even a one-minute window.
    /// </summary>
    internal static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<WindowRef, Entry> _windows = new();
    private readonly TimeProvider _time;
    private readonly ITimer _sweepTimer;
    private int _sweeping;

    public MemoryRateLimitStore(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _sweepTimer = WeakSweepTimer.Start(time, this, SweepInterval, static store => store.Sweep());
    }

    /// <summary>How many windows are held; for tests and metrics.</summary>
    public int Count => _windows.Count;

    public ValueTask<int> DecideAsync(ReadOnlyMemory<WindowCheck> checks, Memory<StoreOutcome> outcomes) =>
        ValueTask.FromResult(Decide(checks.Span, outcomes.Span));

    public void RecordBreach(RateLimitWindowKey metaWindow) => Use(metaWindow, static (w, now, _) => w.Hit(now, 1), 0);

    /// <summary>Decides one check here and now.</summary>
    public WindowDecision Decide(in WindowCheck check) => check.Operation switch
    {
        WindowOperation.Hit => Use(check.Window, static (w, now, cost) => new WindowDecision(w.Hit(now, cost), w.Stats(now)), check.Cost),
        WindowOperation.Test => Use(check.Window, static (w, now, cost) => new WindowDecision(w.Test(now, cost), w.Stats(now)), check.Cost),
        _ => Use(check.Window, static (w, now, _) => new WindowDecision(true, w.Stats(now)), 0),
    };

    private int Decide(ReadOnlySpan<WindowCheck> checks, Span<StoreOutcome> outcomes)
    {
        var anyRefused = false;
        for (var i = 0; i < checks.Length; i++)
        {
            var decision = Decide(checks[i]);
            outcomes[i] = StoreOutcome.Decided(decision, DecisionPath.Memory);
            anyRefused |= !decision.Allowed;
            if (checks[i].Stops(decision, anyRefused))
            {
                return i + 1;
            }
        }

        return checks.Length;
    }

    /// <summary>Drops every window whose counts have aged out. The timer calls it; tests may too.</summary>
    public void Sweep()
    {
        // A sweep that outlasts the interval (a huge dictionary on a starved machine) is not joined by the next one.
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            var now = _time.GetUtcNow();
            foreach (var (key, entry) in _windows)
            {
                lock (entry)
                {
                    if (entry.Window.ExpiresAt is { } expires && expires > now)
                    {
                        continue;
                    }

                    // Marked under the lock, so a caller that fetched this entry before removal retries on a fresh one.
                    entry.Removed = true;
                    _windows.TryRemove(new KeyValuePair<WindowRef, Entry>(key, entry));
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    public void Dispose() => _sweepTimer.Dispose();

    private T Use<T>(RateLimitWindowKey window, Func<RateLimitWindow, DateTimeOffset, int, T> action, int cost)
    {
        var key = new WindowRef(window);
        while (true)
        {
            var entry = _windows.GetOrAdd(key, static (_, w) => new Entry(RateLimitWindow.Create(w.Strategy, w.Limit)), window);
            lock (entry)
            {
                if (!entry.Removed)
                {
                    return action(entry.Window, _time.GetUtcNow(), cost);
                }
            }
        }
    }

    private sealed class Entry(RateLimitWindow window)
    {
        public RateLimitWindow Window { get; } = window;

        public bool Removed { get; set; }
    }
}
