using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Silo;

internal static partial class RedisStorageLog
{
    [LoggerMessage(5, LogLevel.Warning, "Redis calls of the rate-limit window storage started failing (a {Operation} of partition {Partition}); further failures are counted in metrics, and the next success is logged.")]
    public static partial void CallsFailing(ILogger logger, string operation, WindowPartition partition, Exception exception);

    [LoggerMessage(6, LogLevel.Information, "Redis calls of the rate-limit window storage succeed again, after {FailedCalls} failed calls over {Duration}.")]
    public static partial void CallsRecovered(ILogger logger, long failedCalls, TimeSpan duration);

    [LoggerMessage(7, LogLevel.Warning, "{Count} stored windows of rate-limit partition {Partition} could not be read and were skipped (the first is {WindowId}); their next write replaces them.")]
    public static partial void UnreadableWindowsSkipped(ILogger logger, int count, WindowPartition partition, string windowId);
}
