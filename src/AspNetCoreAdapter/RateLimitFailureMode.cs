namespace Orleans.RateLimit.AspNetCore;

/// <summary>What a limit does while its window can't be reached (the cluster is down, a call timed out, the circuit is open).</summary>
public enum RateLimitFailureMode
{
    /// <summary>
    /// Counted in this process instead, when <see cref="RateLimitOptions.InMemoryFallbackEnabled"/> or
    /// <see cref="RateLimitOptions.InMemoryFallback"/> limits enable the fallback; without it the request fails with 500, or passes
    /// with <see cref="RateLimitOptions.SwallowErrors"/>, as in Flask-Limiter.
    /// </summary>
    FallbackToMemory,

    /// <summary>The limit is skipped: requests pass as if it did not exist, until the cluster is back.</summary>
    FailOpen,

    /// <summary>Requests the limit applies to are rejected with 503 Service Unavailable until the cluster is back.</summary>
    FailClosed,
}
