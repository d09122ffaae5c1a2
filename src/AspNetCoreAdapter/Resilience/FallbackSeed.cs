using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Starts a window that falls back to memory from what its owner last told this node, so that a failover loosens a limit
/// by what other nodes admitted since, not by a whole window.
/// </summary>
internal static class FallbackSeed
{
    /// <summary>
    /// Raises <paramref name="window"/> to the count its owner had when it was <paramref name="seen"/>, unless it counts as
    /// much already (it has been counting in memory since) or what was seen no longer counts.
    /// </summary>
    /// <remarks>
    /// A fixed window takes the owner's period exactly (its reset is the period's end). The other strategies don't report
    /// where their hits lie, so the count is placed where it weighs longest without overstating it: a sliding-window
    /// counter's as the previous period's, fading from the moment it was seen; a moving window's as hits at that moment.
    /// </remarks>
    public static void Raise(RateLimitWindow window, RateLimitItem limit, in SeenWindow seen, DateTimeOffset now)
    {
        if (seen.IsNothing)
        {
            return;
        }

        var counted = limit.Amount - Math.Clamp(seen.Stats.Remaining, 0, limit.Amount);
        var period = limit.Period.Ticks;
        var ticks = now.UtcTicks;
        if (counted == 0 || seen.SeenTicks + period <= ticks || limit.Amount - window.Stats(now).Remaining >= counted)
        {
            return;
        }

        WindowBucket[] buckets = window.Strategy switch
        {
            RateLimitStrategy.FixedWindow when seen.Stats.ResetAt.UtcTicks > ticks => [new(seen.Stats.ResetAt.UtcTicks - period, counted)],
            RateLimitStrategy.FixedWindow => [],
            RateLimitStrategy.SlidingWindowCounter => [new(seen.SeenTicks - period, counted), new(seen.SeenTicks, 0)],
            _ => [new(seen.SeenTicks, counted)],
        };
        if (buckets.Length > 0)
        {
            window.Restore(buckets, now);
        }
    }
}
