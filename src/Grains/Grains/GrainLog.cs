using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.Grains;

internal static partial class GrainLog
{
    [LoggerMessage(3, LogLevel.Debug, "Window {Window} of partition {Partition} was written by another activation; its counts were merged with this one's.")]
    public static partial void ConflictMerged(ILogger logger, WindowPartition partition, string window);

    [LoggerMessage(5, LogLevel.Trace, "Window partition swept; {Windows} windows remain.")]
    public static partial void Swept(ILogger logger, int windows);
}
