namespace Orleans.RateLimit;

/// <summary>
/// The state and arithmetic of one rate-limit window: the single implementation that the partition grains and the in-memory store share.
/// </summary>
/// <remarks>
/// Pure and deterministic: time is passed in, nothing is read from a clock, and nothing is thread-safe, because the owner
/// (a grain, or a lock in the memory store) serializes access. <see cref="Test"/> and <see cref="Stats"/> never change state,
/// so they may run concurrently with each other.
/// </remarks>
public abstract class RateLimitWindow
{
    private protected RateLimitWindow(RateLimitItem limit)
    {
        ArgumentNullException.ThrowIfNull(limit);
        Limit = limit;
        PeriodTicks = limit.Period.Ticks;
    }

    /// <summary>The limit this window enforces.</summary>
    public RateLimitItem Limit { get; }

    /// <summary>The strategy this window implements.</summary>
    public abstract RateLimitStrategy Strategy { get; }

    /// <summary>
    /// When everything this window remembers has expired, so its state may be dropped; <see langword="null"/> when it holds nothing.
    /// </summary>
    public abstract DateTimeOffset? ExpiresAt { get; }

    /// <summary>
    /// Increases whenever the state changes (a counted hit, a clear, a restore), so an owner can tell whether there is
    /// anything new to persist. Rejected hits that consume nothing, tests and statistics leave it alone.
    /// </summary>
    public long Version { get; private set; }

    private protected long PeriodTicks { get; }

    /// <summary>Creates an empty window for <paramref name="limit"/> with the given strategy.</summary>
    public static RateLimitWindow Create(RateLimitStrategy strategy, RateLimitItem limit) => strategy switch
    {
        RateLimitStrategy.FixedWindow => new FixedWindow(limit),
        RateLimitStrategy.MovingWindow => new MovingWindow(limit),
        RateLimitStrategy.SlidingWindowCounter => new SlidingWindowCounter(limit),
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "Unknown rate-limit strategy."),
    };

    /// <summary>Spends <paramref name="cost"/> units at <paramref name="now"/> if the limit allows it.</summary>
    /// <returns><see langword="true"/> when the hit is within the limit.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cost"/> is negative.</exception>
    public abstract bool Hit(DateTimeOffset now, int cost = 1);

    /// <summary>Whether <paramref name="cost"/> units could be spent at <paramref name="now"/>, without spending them.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cost"/> is negative.</exception>
    public abstract bool Test(DateTimeOffset now, int cost = 1);

    /// <summary>What remains of the window at <paramref name="now"/> and when it resets.</summary>
    public abstract WindowStats Stats(DateTimeOffset now);

    /// <summary>Forgets every hit.</summary>
    public abstract void Clear();

    /// <summary>The state as buckets, for persistence and merging.</summary>
    public abstract IReadOnlyList<WindowBucket> Save();

    /// <summary>
    /// Replaces the state with <paramref name="buckets"/>, which may come from storage or be the sum of two copies of this window;
    /// buckets that have expired at <paramref name="now"/> are dropped and the rest are folded into this strategy's shape.
    /// </summary>
    public abstract void Restore(IEnumerable<WindowBucket> buckets, DateTimeOffset now);

    private protected void Changed() => Version++;

    private protected static void ValidateCost(int cost)
    {
        if (cost < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cost), cost, "The cost of a hit must be zero or more.");
        }
    }

    private protected static DateTimeOffset At(long ticks) => new(ticks, TimeSpan.Zero);

    private protected static long AddSaturating(long a, long b)
    {
        var sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? long.MaxValue : sum;
    }
}
