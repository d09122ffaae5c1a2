namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Events of one kind over the last seconds: a count per second in a small ring, and when the last one happened. Written
/// on the request path without a lock or an allocation; read by the health check.
/// </summary>
internal sealed class RecentEvents
{
    // A slot holds its second in the high bits and that second's count in the low ones, so that one compare-exchange moves
    // a slot to a new second and counts there; 24 bits count up to 16 million events a second, more than a node decides.
    private const int CountBits = 24;
    private const long MaxCount = (1L << CountBits) - 1;

    /// <summary>Seconds the ring holds: more than <see cref="RateLimitHealthState.IntervalSeconds"/> + 1, a power of two.</summary>
    private const int Slots = 16;

    private readonly long[] _slots = new long[Slots];
    private long _last = RateLimitHealthState.Never;

    /// <summary>When the last event happened (a <see cref="TimeProvider"/> timestamp), or <see cref="RateLimitHealthState.Never"/>.</summary>
    public long Last => Volatile.Read(ref _last);

    /// <summary>Counts one event at <paramref name="timestamp"/>, which fell in <paramref name="second"/>.</summary>
    public void Record(long second, long timestamp)
    {
        Volatile.Write(ref _last, timestamp);
        ref var slot = ref _slots[second & (Slots - 1)];
        while (true)
        {
            var seen = Volatile.Read(ref slot);
            var seenSecond = seen >> CountBits;
            long next;
            if (seenSecond == second)
            {
                if ((seen & MaxCount) == MaxCount)
                {
                    return;
                }

                next = seen + 1;
            }
            else if (seenSecond < second)
            {
                next = (second << CountBits) | 1;
            }
            else
            {
                // A writer that read a later clock took the slot over: this event is older than the ring.
                return;
            }

            if (Interlocked.CompareExchange(ref slot, next, seen) == seen)
            {
                return;
            }
        }
    }

    /// <summary>The events of the seconds from <paramref name="first"/> to <paramref name="last"/>, both included.</summary>
    public long Count(long first, long last)
    {
        long count = 0;
        for (var i = 0; i < Slots; i++)
        {
            var slot = Volatile.Read(ref _slots[i]);
            var second = slot >> CountBits;
            if (second >= first && second <= last)
            {
                count += slot & MaxCount;
            }
        }

        return count;
    }
}
