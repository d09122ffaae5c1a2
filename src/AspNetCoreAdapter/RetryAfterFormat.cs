namespace Orleans.RateLimit.AspNetCore;

/// <summary>How the <c>Retry-After</c> header states when to retry.</summary>
public enum RetryAfterFormat
{
    /// <summary>Whole seconds from now, e.g. <c>60</c>.</summary>
    DeltaSeconds,

    /// <summary>An HTTP date (RFC 9110 IMF-fixdate), e.g. <c>Mon, 23 Nov 2026 12:01:00 GMT</c>.</summary>
    HttpDate,
}
