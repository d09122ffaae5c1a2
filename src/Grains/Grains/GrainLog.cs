using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.Grains;

internal static partial class GrainLog
{
    [LoggerMessage(1, LogLevel.Warning, "Could not read rate-limit window {GrainId} from storage; it starts empty and merges with storage at its next write.")]
    public static partial void StorageReadFailed(ILogger logger, GrainId grainId, Exception exception);

    [LoggerMessage(2, LogLevel.Warning, "Could not write rate-limit window {GrainId} to storage; the write is retried at the next flush.")]
    public static partial void StorageWriteFailed(ILogger logger, GrainId grainId, Exception exception);

    [LoggerMessage(3, LogLevel.Information, "Rate-limit window {GrainId} was written by another activation; its counts were merged with this one's.")]
    public static partial void ConflictMerged(ILogger logger, GrainId grainId);

    [LoggerMessage(4, LogLevel.Warning, "Rate-limit window {GrainId} kept conflicting with other writers after {Attempts} attempts; the write is retried at the next flush.")]
    public static partial void ConflictUnresolved(ILogger logger, GrainId grainId, int attempts);
}
