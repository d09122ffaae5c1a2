namespace Orleans.RateLimit.AspNetCore;

/// <summary>A limit checked by <see cref="IRequestLimiter"/> is exceeded. The middleware turns it into a 429.</summary>
public sealed class RateLimitExceededException : Exception
{
    /// <summary>Creates the exception for a breached limit.</summary>
    public RateLimitExceededException(RequestLimit limit, string description)
        : base($"Rate limit exceeded: {description}")
    {
        ArgumentNullException.ThrowIfNull(limit);
        Limit = limit;
        Description = description;
    }

    /// <summary>The breached limit.</summary>
    public RequestLimit Limit { get; }

    /// <summary>The text of the 429: the limit's error message, or the limit itself, e.g. <c>1 per 1 second</c>.</summary>
    public string Description { get; }

    /// <summary>A breach callback's response, used instead of the default 429.</summary>
    internal Microsoft.AspNetCore.Http.IResult? Response { get; init; }
}
