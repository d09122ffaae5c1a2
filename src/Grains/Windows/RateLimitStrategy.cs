namespace Orleans.RateLimit;

/// <summary>How a rate-limit window counts hits.</summary>
public enum RateLimitStrategy
{
    /// <summary>
    /// A counter that starts at the first hit and resets one period later. Cheapest; admits a burst of up to twice the
    /// amount across a window edge. A rejected hit still counts, as in the original.
    /// </summary>
    FixedWindow = 0,

    /// <summary>
    /// A log of hits over the last period (a sliding log): exact, and the most expensive. A rejected hit consumes nothing.
    /// </summary>
    MovingWindow = 1,

    /// <summary>
    /// Two counters (the previous and current period) whose weighted sum approximates a moving window at fixed cost.
    /// Periods are anchored at the first hit. A rejected hit consumes nothing.
    /// </summary>
    SlidingWindowCounter = 2,
}
