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

    public void RecordBreach(RateLimitWindowKey metaWindow) => Use(metaWindow, 1, static (w, now, cost) => w.Hit(now, cost));

    /// <summary>Decides one check here and now.</summary>
    public WindowDecision Decide(in WindowCheck check) => DecideFrom(check, SeenWindow.Nothing);

    /// <summary>
    /// Decides one check here and now, the window first raised to what its owner had counted when this node last heard of
    /// it (see <see cref="FallbackSeed"/>).
    /// </summary>
    public WindowDecision DecideFrom(in WindowCheck check, in SeenWindow seen) =>
        Use(check.Window, (check, seen), static (window, now, s) =>
        {
            FallbackSeed.Raise(window, s.check.Window.Limit, s.seen, now);
            return Decide(window, s.check, now);
        });

    private static WindowDecision Decide(RateLimitWindow window, in WindowCheck check, DateTimeOffset now) => check.Operation switch
    {
        WindowOperation.Hit => new WindowDecision(window.Hit(now, check.Cost), window.Stats(now)),
        WindowOperation.Test => new WindowDecision(window.Test(now, check.Cost), window.Stats(now)),
        _ => new WindowDecision(true, window.Stats(now)),
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

    private TResult Use<TState, TResult>(RateLimitWindowKey window, TState state, Func<RateLimitWindow, DateTimeOffset, TState, TResult> action)
    {
        var key = new WindowRef(window);
        while (true)
        {
            var entry = _windows.GetOrAdd(key, static (_, w) => new Entry(RateLimitWindow.Create(w.Strategy, w.Limit)), window);
            lock (entry)
            {
                if (!entry.Removed)
                {
                    return action(entry.Window, _time.GetUtcNow(), state);
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
