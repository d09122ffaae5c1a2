namespace Orleans.RateLimit;

/// <summary>
/// A counter that starts with the first hit and covers <c>[first hit, first hit + period)</c>; at exactly
/// <c>first hit + period</c> a new window starts.
/// </summary>
/// <remarks>
/// As in the original, a hit increments the counter even when it fails, so the count can pass the limit and a rejected
/// high-cost request holds the window closed until it resets.
/// </remarks>
public sealed class FixedWindow : RateLimitWindow, ILeasableWindow
{
    private const long NoWindow = long.MinValue;

    private long _start = NoWindow;
    private long _count;

    /// <summary>Creates an empty fixed window for <paramref name="limit"/>.</summary>
    public FixedWindow(RateLimitItem limit)
        : base(limit)
    {
    }

    /// <inheritdoc />
    public override RateLimitStrategy Strategy => RateLimitStrategy.FixedWindow;

    /// <inheritdoc />
    public override DateTimeOffset? ExpiresAt => _start == NoWindow ? null : At(_start + PeriodTicks);

    /// <inheritdoc />
    public override bool Hit(DateTimeOffset now, int cost = 1)
    {
        ValidateCost(cost);
        var ticks = now.UtcTicks;
        if (!IsActive(ticks))
        {
            _start = ticks;
            _count = 0;
            Changed();
        }

        if (cost > 0)
        {
            _count = AddSaturating(_count, cost);
            Changed();
        }

        return _count <= Limit.Amount;
    }

    /// <inheritdoc />
    public override bool Test(DateTimeOffset now, int cost = 1)
    {
        ValidateCost(cost);
        return CountAt(now.UtcTicks) + cost <= Limit.Amount;
    }

    /// <inheritdoc />
    public override WindowStats Stats(DateTimeOffset now)
    {
        var ticks = now.UtcTicks;
        return IsActive(ticks)
            ? new WindowStats(Math.Max(0, Limit.Amount - _count), At(_start + PeriodTicks))
            : new WindowStats(Limit.Amount, now);
    }

    /// <inheritdoc />
    public override void Clear()
    {
        _start = NoWindow;
        _count = 0;
        Changed();
    }

    /// <inheritdoc />
    public override IReadOnlyList<WindowBucket> Save() =>
        _start == NoWindow ? [] : [new WindowBucket(_start, _count)];

    /// <inheritdoc />
    /// <remarks>
    /// Copies that started their windows at different times (two activations during cluster churn) fold into the latest
    /// window with the counts of every copy still active: counting a hit twice is safer than losing it.
    /// </remarks>
    public override void Restore(IEnumerable<WindowBucket> buckets, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        Clear();
        var ticks = now.UtcTicks;
        foreach (var bucket in buckets)
        {
            if (bucket.StartTicks + PeriodTicks <= ticks)
            {
                continue;
            }

            _start = _start == NoWindow ? bucket.StartTicks : Math.Max(_start, bucket.StartTicks);
            _count = AddSaturating(_count, Math.Max(0, bucket.Count));
        }
    }

    /// <inheritdoc />
    public WindowGrant Grant(DateTimeOffset now, long units)
    {
        if (!IsActive(now.UtcTicks))
        {
            return WindowGrant.None;
        }

        var taken = Math.Clamp(Limit.Amount - _count, 0, Math.Max(0, units));
        if (taken > 0)
        {
            _count += taken;
            Changed();
        }

        return new WindowGrant(taken, _start, _start + PeriodTicks);
    }

    /// <inheritdoc />
    public void Release(DateTimeOffset now, long units, long periodStartTicks)
    {
        if (units > 0 && _count > 0 && IsActive(now.UtcTicks) && _start == periodStartTicks)
        {
            _count = Math.Max(0, _count - units);
            Changed();
        }
    }

    private bool IsActive(long ticks) => _start != NoWindow && ticks < _start + PeriodTicks;

    private long CountAt(long ticks) => IsActive(ticks) ? _count : 0;
}
