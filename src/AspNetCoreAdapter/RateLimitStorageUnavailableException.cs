namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// The cluster that counts a request's limits can't be reached (a call failed or timed out, or the circuit is open) and the
/// limit's failure mode gives no other answer: without the in-memory fallback this is Flask-Limiter's 500, unless
/// <see cref="RateLimitOptions.SwallowErrors"/> lets the request through.
/// </summary>
public sealed class RateLimitStorageUnavailableException : Exception
{
    /// <summary>Creates the exception with the default message.</summary>
    public RateLimitStorageUnavailableException()
        : this("Rate limit storage is unreachable.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public RateLimitStorageUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the failure that caused it.</summary>
    public RateLimitStorageUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Whether a limit whose failure mode is <see cref="RateLimitFailureMode.FailClosed"/> rejects the request (503).</summary>
    public bool FailedClosed { get; init; }
}
