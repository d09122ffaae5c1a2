using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.Silo;

internal static partial class RedisStorageLog
{
    [LoggerMessage(5, LogLevel.Warning, "Rate-limit window {GrainId} was written to Redis, but its key could not be given an expiry; the window's next write sets it.")]
    public static partial void ExpiryFailed(ILogger logger, GrainId grainId, Exception exception);
}
