using System.Collections.Concurrent;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Counts windows in this process with the same window math the grains run. Windows whose counts have all aged out are
/// swept away, so a flood of unique keys costs memory only while their windows last.
/// </summary>
internal sealed class MemoryRateLimitStore(TimeProvider time) : IRateLimitStore
{
    private const int SweepEveryOperations = 4096;

    private readonly ConcurrentDictionary<string, Entry> _windows = new(StringComparer.Ordinal);
    private int _operationsSinceSweep;

    /// <summary>How many windows are held; for tests and metrics.</summary>
    public int Count => _windows.Count;

    public ValueTask<WindowDecision> HitAsync(RateLimitWindowKey window, int cost) =>
        ValueTask.FromResult(Use(window, static (w, now, cost) => new WindowDecision(w.Hit(now, cost), w.Stats(now)), cost));

    public ValueTask<WindowDecision> TestAsync(RateLimitWindowKey window, int cost) =>
        ValueTask.FromResult(Use(window, static (w, now, cost) => new WindowDecision(w.Test(now, cost), w.Stats(now)), cost));

    public ValueTask<WindowStats> StatsAsync(RateLimitWindowKey window) =>
        ValueTask.FromResult(Use(window, static (w, now, _) => w.Stats(now), 0));

    public ValueTask<WindowDecision> CheckMetaAsync(RateLimitWindowKey window, int cost) => TestAsync(window, cost);

    public void RecordBreach(RateLimitWindowKey window) => Use(window, static (w, now, _) => w.Hit(now, 1), 0);

    /// <summary>Drops every window whose counts have aged out.</summary>
    public void Sweep()
    {
        var now = time.GetUtcNow();
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
                _windows.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }
    }

    private T Use<T>(RateLimitWindowKey window, Func<RateLimitWindow, DateTimeOffset, int, T> action, int cost)
    {
        if (Interlocked.Increment(ref _operationsSinceSweep) >= SweepEveryOperations)
        {
            Interlocked.Exchange(ref _operationsSinceSweep, 0);
            Sweep();
        }

        var key = window.ToGrainKey();
        while (true)
        {
            var entry = _windows.GetOrAdd(key, static (_, w) => new Entry(RateLimitWindow.Create(w.Strategy, w.Limit)), window);
            lock (entry)
            {
                if (!entry.Removed)
                {
                    return action(entry.Window, time.GetUtcNow(), cost);
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
