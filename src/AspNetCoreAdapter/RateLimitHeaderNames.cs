namespace Orleans.RateLimit.AspNetCore;

/// <summary>The names of the X-RateLimit header fields; rename them to match an existing API.</summary>
public sealed class RateLimitHeaderNames
{
    /// <summary>The limit's amount. Default <c>X-RateLimit-Limit</c>.</summary>
    public string Limit { get; set; } = "X-RateLimit-Limit";

    /// <summary>What remains of the window after this request. Default <c>X-RateLimit-Remaining</c>.</summary>
    public string Remaining { get; set; } = "X-RateLimit-Remaining";

    /// <summary>When the window resets, in epoch seconds. Default <c>X-RateLimit-Reset</c>.</summary>
    public string Reset { get; set; } = "X-RateLimit-Reset";

    /// <summary>When to retry. Default <c>Retry-After</c>.</summary>
    public string RetryAfter { get; set; } = "Retry-After";
}
