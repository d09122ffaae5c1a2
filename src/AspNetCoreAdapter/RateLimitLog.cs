using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>The adapter's log messages; the texts follow Flask-Limiter's, so that existing log searches keep working.</summary>
internal static partial class RateLimitLog
{
    private const int MaxLoggedLength = 200;

    /// <summary>
    /// A client key or scope as logged: keys come from request headers, so a hostile client could otherwise put kilobytes
    /// into every breach record.
    /// </summary>
    public static string Bounded(string value) =>
        value.Length <= MaxLoggedLength ? value : string.Concat(value.AsSpan(0, MaxLoggedLength), $"… ({value.Length} chars)");

    [LoggerMessage(1, LogLevel.Information, "ratelimit {Limit} ({Key}) exceeded at endpoint: {Scope}")]
    public static partial void LimitExceeded(ILogger logger, string limit, string key, string scope);

    [LoggerMessage(2, LogLevel.Error, "failed to load ratelimit for endpoint {Endpoint}: {Error}")]
    public static partial void InvalidDynamicLimit(ILogger logger, string endpoint, string error);

    [LoggerMessage(3, LogLevel.Error, "Skipping limit: {Limit}. Empty value found in parameters.")]
    public static partial void EmptyKeyOrScope(ILogger logger, string limit);

    [LoggerMessage(4, LogLevel.Error, "Failed to rate limit. Swallowing error")]
    public static partial void RateLimitErrorSwallowed(ILogger logger, Exception exception);

    [LoggerMessage(5, LogLevel.Error, "Failed to deduct rate limit. Swallowing error")]
    public static partial void DeductErrorSwallowed(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Error, "Failed to update rate limit headers. Swallowing error")]
    public static partial void HeaderErrorSwallowed(ILogger logger, Exception exception);

    [LoggerMessage(7, LogLevel.Error, "on_breach callback failed with error {Error}")]
    public static partial void OnBreachFailed(ILogger logger, string error, Exception exception);

    [LoggerMessage(8, LogLevel.Error, "on_meta_breach callback failed with error {Error}")]
    public static partial void OnMetaBreachFailed(ILogger logger, string error, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "A breach of meta limit {Limit} ({Key}) could not be recorded")]
    public static partial void BreachNotRecorded(ILogger logger, string limit, string key, Exception exception);

    [LoggerMessage(10, LogLevel.Information, "meta limit {Limit} ({Key}) exceeded at endpoint: {Endpoint}")]
    public static partial void MetaLimitExceeded(ILogger logger, string limit, string key, string endpoint);

    [LoggerMessage(11, LogLevel.Warning, "Rate limit storage unreachable - falling back to in-memory storage")]
    public static partial void FallingBackToMemory(ILogger logger, Exception exception);

    [LoggerMessage(12, LogLevel.Information, "Rate limit storage recovered")]
    public static partial void StorageRecovered(ILogger logger);

    [LoggerMessage(13, LogLevel.Warning, "Rate limit storage unreachable - limits fail by their failure mode until it recovers")]
    public static partial void StorageUnreachable(ILogger logger, Exception exception);

    [LoggerMessage(14, LogLevel.Debug, "Rate limit storage still unreachable; next probe in {Delay}")]
    public static partial void ProbeFailed(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(15, LogLevel.Warning, "Request rejected with 503: a limit that fails closed could not be checked. {Reason}")]
    public static partial void FailedClosed(ILogger logger, string reason);
}
