using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// Logs when the storage's Redis calls start failing and when they succeed again: two lines per outage for the whole silo,
/// however many partitions call meanwhile, where a line per failed call would flood the log exactly when Redis is down.
/// </summary>
internal sealed class RedisCallOutcomes(TimeProvider time, ILogger logger)
{
    private const int Healthy = 0;
    private const int Failing = 1;

    private int _state = Healthy;
    private long _failedCalls;
    private long _failingSince;

    public void Failed(string operation, WindowPartition partition, Exception exception)
    {
        Interlocked.Increment(ref _failedCalls);
        if (Interlocked.CompareExchange(ref _state, Failing, Healthy) == Healthy)
        {
            Interlocked.Exchange(ref _failingSince, time.GetTimestamp());
            RedisStorageLog.CallsFailing(logger, operation, partition, exception);
        }
    }

    public void Succeeded()
    {
        // A plain read first: while Redis is healthy, which is nearly always, calls share the field without contention.
        if (Volatile.Read(ref _state) == Failing && Interlocked.CompareExchange(ref _state, Healthy, Failing) == Failing)
        {
            var failedCalls = Interlocked.Exchange(ref _failedCalls, 0);
            RedisStorageLog.CallsRecovered(logger, failedCalls, time.GetElapsedTime(Interlocked.Read(ref _failingSince)));
        }
    }
}
