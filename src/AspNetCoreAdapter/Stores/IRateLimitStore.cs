using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Where windows are counted: Orleans grains or this process. One call per window, so that the evaluator keeps Flask-Limiter's
/// order (fail-on-first-breach) and a layer between (timeouts, fallback, leased budgets) can wrap any store.
/// </summary>
internal interface IRateLimitStore
{
    ValueTask<WindowDecision> HitAsync(RateLimitWindowKey window, int cost);

    ValueTask<WindowDecision> TestAsync(RateLimitWindowKey window, int cost);

    ValueTask<WindowStats> StatsAsync(RateLimitWindowKey window);

    /// <summary>Whether a client's breaches are within a meta limit; counting nothing.</summary>
    ValueTask<WindowDecision> CheckMetaAsync(RateLimitWindowKey window, int cost);

    /// <summary>Counts one breach against a meta limit, without waiting for it.</summary>
    void RecordBreach(RateLimitWindowKey window);
}
