namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// How often this node has asked owners to decide each window in the current second, estimated in fixed memory: two rows
/// of counters indexed by different bits of the window's hash, the smaller of its two counts taken (a count-min sketch).
/// </summary>
/// <remarks>
/// Cold windows, such as a flood of clients never seen again, cost nothing to track: no entry is made for them. Counts can
/// only be overestimated, when windows share both counters, which then promotes a cold window early: it gets a small
/// budget that goes back to its owner once it idles. With 65,536 counters per row (512 KB in all), 80,000 cold decisions a
/// second put 1.2 in a counter on average, and the chance that both of a window's counters reach 4 is about one in 900.
/// Increments are not atomic: a lost one only delays a promotion.
/// </remarks>
internal sealed class WindowHeat
{
    private const int RowBits = 16;
    private const int RowSize = 1 << RowBits;
    private const int RowMask = RowSize - 1;

    private readonly int[] _counts = new int[2 * RowSize];
    private long _second = long.MinValue;

    /// <summary>Counts one decision of a window with hash <paramref name="hash"/> at <paramref name="ticks"/>.</summary>
    /// <returns>The window's estimated number of decisions in the current second, this one included.</returns>
    public int Count(int hash, long ticks)
    {
        var second = ticks / TimeSpan.TicksPerSecond;
        if (Volatile.Read(ref _second) != second && Interlocked.Exchange(ref _second, second) != second)
        {
            Array.Clear(_counts);
        }

        var first = ++_counts[hash & RowMask];
        var other = ++_counts[RowSize + ((hash >>> RowBits) & RowMask)];
        return Math.Min(first, other);
    }
}
