namespace Orleans.RateLimit.AspNetCore;

/// <summary>Which rate-limit header fields a response carries when headers are enabled.</summary>
[Flags]
public enum RateLimitHeaderFields
{
    /// <summary><c>X-RateLimit-Limit</c>, <c>X-RateLimit-Remaining</c>, <c>X-RateLimit-Reset</c> and <c>Retry-After</c>, as Flask-Limiter writes them.</summary>
    XRateLimit = 1,

    /// <summary>
    /// The IETF draft-ietf-httpapi-ratelimit-headers-10 fields <c>RateLimit-Policy</c> and <c>RateLimit</c>, one item per
    /// limit evaluated for the request, and <c>Retry-After</c> on 429 responses.
    /// </summary>
    IetfDraft = 2,

    /// <summary>Both sets.</summary>
    Both = XRateLimit | IetfDraft,
}
