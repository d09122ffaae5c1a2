using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// Logs when one kind of the storage's Redis calls starts failing and when it works again: two lines per outage and kind for
/// the whole silo, however many partitions call meanwhile, where a line per failed call would flood the log exactly when
/// Redis is down. The failures themselves are counted in metrics by the storage.
/// </summary>
internal sealed class RedisCallOutcomes(RedisCallKind kind, TimeProvider time, ILogger logger)
{
    private readonly Lock _gate = new();
    private volatile bool _failing;
    private long _failedCalls;
    private long _failingSince;

    public void Failed(WindowPartition partition, Exception exception)
    {
        lock (_gate)
        {
            _failedCalls++;
            if (_failing)
            {
                return;
            }

            _failing = true;
            _failingSince = time.GetTimestamp();
        }

        // The only line of this outage that carries the exception: the first failure usually tells why (refused, timed out).
        RedisStorageLog.CallsFailing(logger, kind.Calls, partition, kind.FailureMetric, exception);
    }

    /// <summary>A call of the storage succeeded: of this kind, or of another one that shows Redis answering again.</summary>
    /// <param name="evidence">The call that succeeded, for the log line, e.g. <c>a window write</c>.</param>
    public void Succeeded(string evidence)
    {
        // A plain read first: while Redis is healthy, which is nearly always, calls pass without taking the lock.
        if (!_failing)
        {
            return;
        }

        long failedCalls;
        TimeSpan duration;
        lock (_gate)
        {
            if (!_failing)
            {
                return;
            }

            _failing = false;
            failedCalls = _failedCalls;
            _failedCalls = 0;
            duration = time.GetElapsedTime(_failingSince);
        }

        RedisStorageLog.CallsRecovered(logger, kind.Calls, evidence, failedCalls, duration);
    }
}

/// <summary>A kind of Redis call of the window storage, whose outages are logged on their own.</summary>
/// <param name="Calls">The calls, as the log names them, e.g. <c>window writes</c>.</param>
/// <param name="OneCall">One such call, e.g. <c>a window write</c>.</param>
/// <param name="FailureMetric">The instrument that counts their failures.</param>
internal sealed record RedisCallKind(string Calls, string OneCall, string FailureMetric)
{
    public static readonly RedisCallKind Loads = new("partition loads", "a partition load", RateLimitGrainMetrics.ReadFailuresName);

    public static readonly RedisCallKind Writes = new("window writes", "a window write", RateLimitGrainMetrics.WriteFailuresName);
}
