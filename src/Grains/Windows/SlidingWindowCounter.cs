namespace Orleans.RateLimit;

/// <summary>
/// Two counters, the previous and the current period, weighted so that the previous period's hits fade out linearly as the
/// current period elapses: <c>weighted = previous × (time left in the current period / period) + current</c>.
/// A hit is admitted when <c>floor(weighted) + cost ≤ amount</c>; a rejected hit consumes nothing.
/// </summary>
/// <remarks>
/// Periods are anchored at the first hit, as the original's Redis and MongoDB storages do (not aligned to the clock as its
/// in-memory storage does), so a client cannot burst by arriving just before a clock boundary, and the grain and the
/// in-memory store agree. When two whole periods pass without a hit the window is empty and the next hit anchors anew.
/// </remarks>
public sealed class SlidingWindowCounter : RateLimitWindow, ILeasableWindow
{
    private const long NoWindow = long.MinValue;

    private long _currentStart = NoWindow;
    private long _previous;
    private long _current;

    /// <summary>Creates an empty sliding-window counter for <paramref name="limit"/>.</summary>
    public SlidingWindowCounter(RateLimitItem limit)
        : base(limit)
    {
    }

    /// <inheritdoc />
    public override RateLimitStrategy Strategy => RateLimitStrategy.SlidingWindowCounter;

    /// <inheritdoc />
    public override DateTimeOffset? ExpiresAt => _currentStart == NoWindow ? null : At(_currentStart + (2 * PeriodTicks));

    /// <inheritdoc />
    public override bool Hit(DateTimeOffset now, int cost = 1)
    {
        ValidateCost(cost);
        var ticks = now.UtcTicks;
        var state = RollTo(ticks);
        if (cost > Limit.Amount || WeightedCount(state, ticks) > Limit.Amount - cost)
        {
            return false;
        }

        if (state.CurrentStart == NoWindow)
        {
            state = new Counters(ticks, 0, 0);
        }

        (_currentStart, _previous, _current) = (state.CurrentStart, state.Previous, AddSaturating(state.Current, cost));
        Changed();
        return true;
    }

    /// <inheritdoc />
    public override bool Test(DateTimeOffset now, int cost = 1)
    {
        ValidateCost(cost);
        var ticks = now.UtcTicks;
        return cost <= Limit.Amount && WeightedCount(RollTo(ticks), ticks) <= Limit.Amount - cost;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The reset time is the original's estimate of when the next unit frees up:
    /// <c>now + min(previousTtl mod (period / previous), currentTtl mod period)</c>, each term only when its counter is non-zero,
    /// where the previous counter lives until the current period ends and the current one a period after that.
    /// </remarks>
    public override WindowStats Stats(DateTimeOffset now)
    {
        var ticks = now.UtcTicks;
        var state = RollTo(ticks);
        if (state.CurrentStart == NoWindow || (state.Previous == 0 && state.Current == 0))
        {
            return new WindowStats(Limit.Amount, now);
        }

        var remaining = Math.Max(0, Limit.Amount - WeightedCount(state, ticks));
        var previousTtl = (double)(state.CurrentStart + PeriodTicks - ticks);
        var currentTtl = (double)(state.CurrentStart + (2 * PeriodTicks) - ticks);
        var wait = double.MaxValue;
        if (state.Previous > 0)
        {
            wait = previousTtl % (PeriodTicks / (double)state.Previous);
        }

        if (state.Current > 0)
        {
            wait = Math.Min(wait, currentTtl % PeriodTicks);
        }

        return new WindowStats(remaining, now + TimeSpan.FromTicks((long)wait));
    }

    /// <inheritdoc />
    public override void Clear()
    {
        _currentStart = NoWindow;
        _previous = 0;
        _current = 0;
        Changed();
    }

    /// <inheritdoc />
    /// <remarks>The current period is always saved, even when empty, because its start is the anchor.</remarks>
    public override IReadOnlyList<WindowBucket> Save()
    {
        if (_currentStart == NoWindow)
        {
            return [];
        }

        return _previous > 0
            ? [new WindowBucket(_currentStart - PeriodTicks, _previous), new WindowBucket(_currentStart, _current)]
            : [new WindowBucket(_currentStart, _current)];
    }

    /// <inheritdoc />
    /// <remarks>
    /// The latest bucket becomes the anchor of the current period; buckets that start within one period before it count as
    /// current, older ones as previous. Copies with different anchors therefore fold conservatively: no hit is lost.
    /// </remarks>
    public override void Restore(IEnumerable<WindowBucket> buckets, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        Clear();
        var ticks = now.UtcTicks;
        var live = buckets.Where(b => b.StartTicks + (2 * PeriodTicks) > ticks).ToList();
        if (live.Count == 0)
        {
            return;
        }

        var anchor = live.Max(b => b.StartTicks);
        foreach (var bucket in live)
        {
            var count = Math.Max(0, bucket.Count);
            if (bucket.StartTicks > anchor - PeriodTicks)
            {
                _current = AddSaturating(_current, count);
            }
            else
            {
                _previous = AddSaturating(_previous, count);
            }
        }

        _currentStart = anchor;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The units join the current period's counter. As the period goes on, the previous period's weight fades and more would
    /// be allowed, so a grant taken now never admits a hit the window would refuse when it is used.
    /// </remarks>
    public WindowGrant Grant(DateTimeOffset now, long units)
    {
        var ticks = now.UtcTicks;
        var state = RollTo(ticks);
        if (state.CurrentStart == NoWindow)
        {
            return WindowGrant.None;
        }

        var taken = Math.Clamp(Limit.Amount - WeightedCount(state, ticks), 0, Math.Max(0, units));
        if (taken > 0)
        {
            (_currentStart, _previous, _current) = (state.CurrentStart, state.Previous, state.Current + taken);
            Changed();
        }

        return new WindowGrant(taken, state.CurrentStart, state.CurrentStart + PeriodTicks);
    }

    /// <inheritdoc />
    /// <remarks>Units of the period before the current one still weigh on it, so they are taken off the previous counter.</remarks>
    public void Release(DateTimeOffset now, long units, long periodStartTicks)
    {
        var state = RollTo(now.UtcTicks);
        if (units <= 0 || state.CurrentStart == NoWindow)
        {
            return;
        }

        var released = state;
        if (state.CurrentStart == periodStartTicks)
        {
            released = state with { Current = Math.Max(0, state.Current - units) };
        }
        else if (state.CurrentStart == periodStartTicks + PeriodTicks)
        {
            released = state with { Previous = Math.Max(0, state.Previous - units) };
        }

        if (released == state)
        {
            return;
        }

        state = released;

        (_currentStart, _previous, _current) = (state.CurrentStart, state.Previous, state.Current);
        Changed();
    }

    /// <summary>The counters as they stand at <paramref name="ticks"/>: rolled forward by whole periods, without changing state.</summary>
    private Counters RollTo(long ticks)
    {
        if (_currentStart == NoWindow)
        {
            return new Counters(NoWindow, 0, 0);
        }

        var elapsed = ticks - _currentStart;
        if (elapsed < PeriodTicks)
        {
            return new Counters(_currentStart, _previous, _current);
        }

        return elapsed < 2 * PeriodTicks
            ? new Counters(_currentStart + PeriodTicks, _current, 0)
            : new Counters(NoWindow, 0, 0);
    }

    /// <summary><c>floor(previous × timeLeftInCurrent / period) + current</c>, computed exactly in 128-bit integers.</summary>
    private long WeightedCount(Counters state, long ticks)
    {
        if (state.CurrentStart == NoWindow)
        {
            return 0;
        }

        var timeLeft = Math.Clamp(state.CurrentStart + PeriodTicks - ticks, 0, PeriodTicks);
        var weightedPrevious = (long)((Int128)state.Previous * timeLeft / PeriodTicks);
        return AddSaturating(weightedPrevious, state.Current);
    }

    private readonly record struct Counters(long CurrentStart, long Previous, long Current);
}
