using System.Collections.Concurrent;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Remembers clients this node has seen blocked by a meta limit, and until when, so that their requests are answered
/// without a call to the meta window. The meta window stays the authority: a client the cache does not hold is simply asked
/// about again. So the cache is bounded by refusing new entries when full, and a timer, not a request, sweeps ended blocks.
/// </summary>
internal sealed class MetaBlockCache : IDisposable
{
    /// <summary>Ended blocks are swept this often; until then an ended block costs memory but never blocks anyone.</summary>
    internal static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<WindowRef, DateTimeOffset> _blockedUntil = new();
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private readonly ITimer _sweepTimer;

    // ConcurrentDictionary.Count takes every lock of the dictionary; this is kept alongside, exact enough for a bound.
    private int _count;

    public MetaBlockCache(TimeProvider time)
        : this(time, capacity: 100_000)
    {
    }

    internal MetaBlockCache(TimeProvider time, int capacity)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _capacity = capacity;

        _sweepTimer = WeakSweepTimer.Start(time, this, SweepInterval, static cache => cache.Sweep());
    }

    /// <summary>How many blocks are held, ended ones included until the next sweep.</summary>
    internal int Count => Volatile.Read(ref _count);

    public bool IsBlocked(WindowRef window, DateTimeOffset now, out DateTimeOffset until)
    {
        if (_blockedUntil.TryGetValue(window, out until))
        {
            if (until > now)
            {
                return true;
            }

            Remove(window, until);
        }

        return false;
    }

    public void Block(WindowRef window, DateTimeOffset until, DateTimeOffset now)
    {
        if (until <= now)
        {
            return;
        }

        while (true)
        {
            if (_blockedUntil.TryGetValue(window, out var known))
            {
                if (_blockedUntil.TryUpdate(window, until, known))
                {
                    return;
                }
            }
            else
            {
                if (Count >= _capacity)
                {
                    return;
                }

                if (_blockedUntil.TryAdd(window, until))
                {
                    Interlocked.Increment(ref _count);
                    return;
                }
            }
        }
    }

    /// <summary>Drops every block that has ended. The timer calls it; tests may too.</summary>
    public void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (var (window, until) in _blockedUntil)
        {
            if (until <= now)
            {
                Remove(window, until);
            }
        }
    }

    public void Dispose() => _sweepTimer.Dispose();

    private void Remove(WindowRef window, DateTimeOffset until)
    {
        if (_blockedUntil.TryRemove(new KeyValuePair<WindowRef, DateTimeOffset>(window, until)))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
