using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Silo;

internal static partial class RedisStorageLog
{
    [LoggerMessage(5, LogLevel.Warning, "Redis {Calls} of the rate-limit window storage started failing (partition {Partition}); until they work again further failures are only counted, in {FailureMetric}, and the recovery is logged.")]
    public static partial void CallsFailing(ILogger logger, string calls, WindowPartition partition, string failureMetric, Exception exception);

    [LoggerMessage(6, LogLevel.Information, "Redis {Calls} of the rate-limit window storage work again ({Evidence} succeeded), after {FailedCalls} failed calls over {Duration}.")]
    public static partial void CallsRecovered(ILogger logger, string calls, string evidence, long failedCalls, TimeSpan duration);

    [LoggerMessage(7, LogLevel.Warning, "{Count} stored windows of rate-limit partition {Partition} could not be read and were skipped (the first is {WindowId}); their next write replaces them.")]
    public static partial void UnreadableWindowsSkipped(ILogger logger, int count, WindowPartition partition, string windowId);
}
