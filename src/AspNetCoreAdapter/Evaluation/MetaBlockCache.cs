using System.Collections.Concurrent;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Remembers clients this node has seen blocked by a meta limit, and until when, so that their requests are answered
/// without a call to the meta window. Bounded: past the bound, expired entries are dropped, then everything.
/// </summary>
internal sealed class MetaBlockCache
{
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, DateTimeOffset> _blockedUntil = new(StringComparer.Ordinal);

    public bool IsBlocked(string window, DateTimeOffset now, out DateTimeOffset until)
    {
        if (_blockedUntil.TryGetValue(window, out until))
        {
            if (until > now)
            {
                return true;
            }

            _blockedUntil.TryRemove(new KeyValuePair<string, DateTimeOffset>(window, until));
        }

        return false;
    }

    public void Block(string window, DateTimeOffset until, DateTimeOffset now)
    {
        if (until <= now)
        {
            return;
        }

        if (_blockedUntil.Count >= MaxEntries)
        {
            foreach (var (key, expires) in _blockedUntil)
            {
                if (expires <= now)
                {
                    _blockedUntil.TryRemove(key, out _);
                }
            }

            if (_blockedUntil.Count >= MaxEntries)
            {
                _blockedUntil.Clear();
            }
        }

        _blockedUntil[window] = until;
    }
}
