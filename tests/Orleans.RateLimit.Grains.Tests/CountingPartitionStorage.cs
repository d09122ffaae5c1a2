using Microsoft.Extensions.DependencyInjection;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Sits in front of the real partition storage and counts its round trips: loads per partition, and each write batch.</summary>
internal sealed class CountingPartitionStorage(IWindowPartitionStorage inner) : IWindowPartitionStorage
{
    private readonly Lock _lock = new();
    private readonly List<WindowPartition> _loads = [];
    private readonly List<int> _batches = [];
    private int _failedWrites;

    /// <summary>Every partition loaded so far, once per load.</summary>
    public IReadOnlyList<WindowPartition> Loads
    {
        get
        {
            lock (_lock)
            {
                return [.. _loads];
            }
        }
    }

    /// <summary>The number of windows of every write round trip so far, failed ones included.</summary>
    public IReadOnlyList<int> WriteBatches
    {
        get
        {
            lock (_lock)
            {
                return [.. _batches];
            }
        }
    }

    /// <summary>How many write round trips failed.</summary>
    public int FailedWrites
    {
        get
        {
            lock (_lock)
            {
                return _failedWrites;
            }
        }
    }

    /// <summary>Counts the partition storage of one silo; returns the counter through <paramref name="counters"/>.</summary>
    public static void AddTo(IServiceCollection services, ICollection<CountingPartitionStorage> counters) =>
        PartitionStorageDecorators.Decorate(services, inner => new CountingPartitionStorage(inner), counters);

    public Task<IReadOnlyList<StoredWindow>> LoadAsync(WindowPartition partition, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _loads.Add(partition);
        }

        return inner.LoadAsync(partition, cancellationToken);
    }

    public async Task<IReadOnlyList<WindowWriteResult>> WriteAsync(
        WindowPartition partition, IReadOnlyList<WindowWrite> writes, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _batches.Add(writes.Count);
        }

        try
        {
            return await inner.WriteAsync(partition, writes, cancellationToken);
        }
        catch (Exception)
        {
            lock (_lock)
            {
                _failedWrites++;
            }

            throw;
        }
    }
}
