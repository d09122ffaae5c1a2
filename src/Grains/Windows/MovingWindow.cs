namespace Orleans.RateLimit;

/// <summary>
/// A sliding log: a hit at time <c>t</c> occupies the window during <c>[t, t + period)</c>, and a hit is admitted when the
/// hits inside the window plus its cost fit the limit. A rejected hit records nothing.
/// </summary>
/// <remarks>
/// <para>
/// Hits are stored as runs of (time, count), oldest first, so a high-cost hit is one entry rather than one entry per unit.
/// Hits less than <c>period / 1000</c> after the first hit of the newest run join that run, which takes the time of the
/// latest of them: its hits then age out together, up to <c>period / 1000</c> late and never early, so a window holds at most
/// about a thousand runs whatever the traffic and the amount. A hit further from the newest run starts a run of its own at
/// its exact time, so sparse hits keep exact boundaries.
/// </para>
/// <para>
/// Boundary: an entry stops counting at exactly <c>t + period</c>, for hits, tests and statistics alike, which is also the
/// reset time the statistics report. (The original's in-memory storage still rejects at that instant while its statistics
/// already exclude the entry; one rule for all three operations keeps <c>Retry-After</c> truthful.)
/// </para>
/// </remarks>
public sealed class MovingWindow : RateLimitWindow
{
    private const int CompactionThreshold = 64;
    private const int RunsPerPeriod = 1000;

    private readonly List<WindowBucket> _runs = [];
    private readonly long _runSpan;
    private int _head;
    private long _total;
    private long _newestRunFirstHit;

    /// <summary>Creates an empty moving window for <paramref name="limit"/>.</summary>
    public MovingWindow(RateLimitItem limit)
        : base(limit)
    {
        _runSpan = Math.Max(1, PeriodTicks / RunsPerPeriod);
    }

    /// <inheritdoc />
    public override RateLimitStrategy Strategy => RateLimitStrategy.MovingWindow;

    /// <inheritdoc />
    public override DateTimeOffset? ExpiresAt => _head < _runs.Count ? At(_runs[^1].StartTicks + PeriodTicks) : null;

    /// <summary>How many runs of hits are stored, expired ones included until the next hit prunes them.</summary>
    public int StoredRuns => _runs.Count - _head;

    /// <inheritdoc />
    public override bool Hit(DateTimeOffset now, int cost = 1)
    {
        ValidateCost(cost);
        var ticks = now.UtcTicks;
        Prune(ticks);
        if (cost > Limit.Amount || _total > Limit.Amount - cost)
        {
            return false;
        }

        if (cost == 0)
        {
            return true;
        }

        if (_head < _runs.Count && ticks - _newestRunFirstHit < _runSpan)
        {
            // Close to the newest run (or a clock that stepped back): join it, stamped with the later time, so runs stay
            // ordered and no hit ages out early.
            var newest = _runs[^1];
            _runs[^1] = new WindowBucket(Math.Max(newest.StartTicks, ticks), newest.Count + cost);
        }
        else
        {
            _runs.Add(new WindowBucket(ticks, cost));
            _newestRunFirstHit = ticks;
        }

        _total += cost;
        Changed();
        return true;
    }

    /// <inheritdoc />
    public override bool Test(DateTimeOffset now, int cost = 1)
    {
        ValidateCost(cost);
        return cost <= Limit.Amount && CountAt(now.UtcTicks, out _) <= Limit.Amount - cost;
    }

    /// <inheritdoc />
    public override WindowStats Stats(DateTimeOffset now)
    {
        var count = CountAt(now.UtcTicks, out var oldest);
        var resetAt = count == 0 ? now + Limit.Period : At(oldest + PeriodTicks);
        return new WindowStats(Math.Max(0, Limit.Amount - count), resetAt);
    }

    /// <inheritdoc />
    public override void Clear()
    {
        _runs.Clear();
        _head = 0;
        _total = 0;
        Changed();
    }

    /// <inheritdoc />
    public override IReadOnlyList<WindowBucket> Save() => _runs.GetRange(_head, _runs.Count - _head);

    /// <inheritdoc />
    /// <remarks>Runs of two copies are merged by time; the union may exceed the limit, which then rejects until runs age out.</remarks>
    public override void Restore(IEnumerable<WindowBucket> buckets, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        Clear();
        var ticks = now.UtcTicks;
        var live = buckets
            .Where(b => b.Count > 0 && b.StartTicks + PeriodTicks > ticks)
            .GroupBy(b => b.StartTicks)
            .Select(g => new WindowBucket(g.Key, g.Aggregate(0L, (sum, b) => AddSaturating(sum, b.Count))))
            .OrderBy(b => b.StartTicks);
        foreach (var run in live)
        {
            _runs.Add(run);
            _total = AddSaturating(_total, run.Count);
        }

        _newestRunFirstHit = _runs.Count > 0 ? _runs[^1].StartTicks : 0;
    }

    private void Prune(long ticks)
    {
        while (_head < _runs.Count && _runs[_head].StartTicks + PeriodTicks <= ticks)
        {
            _total -= _runs[_head].Count;
            _head++;
        }

        if (_head == _runs.Count)
        {
            _runs.Clear();
            _head = 0;
        }
        else if (_head >= CompactionThreshold && _head * 2 >= _runs.Count)
        {
            _runs.RemoveRange(0, _head);
            _head = 0;
        }
    }

    /// <summary>The hits inside the window at <paramref name="ticks"/>, without pruning, and the time of the oldest of them.</summary>
    private long CountAt(long ticks, out long oldestTicks)
    {
        var count = _total;
        var index = _head;
        while (index < _runs.Count && _runs[index].StartTicks + PeriodTicks <= ticks)
        {
            count -= _runs[index].Count;
            index++;
        }

        oldestTicks = index < _runs.Count ? _runs[index].StartTicks : 0;
        return count;
    }
}
