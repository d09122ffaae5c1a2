using Microsoft.Extensions.DependencyInjection;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// Sits in front of the real partition storage; while closed, writes wait at the gate and reach the real storage only once
/// it opens, as they would behind a storage that stalls. Loads always pass.
/// </summary>
internal sealed class GatedPartitionStorage(IWindowPartitionStorage inner) : IWindowPartitionStorage
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _open = Opened();
    private TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;

    /// <summary>How many writes wait at the gate now.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting;
            }
        }
    }

    /// <summary>Puts a gate in front of the partition storage of one silo; returns the gate through <paramref name="gates"/>.</summary>
    public static void AddTo(IServiceCollection services, ICollection<GatedPartitionStorage> gates) =>
        PartitionStorageDecorators.Decorate(services, inner => new GatedPartitionStorage(inner), gates);

    /// <summary>Makes writes from now on wait until <see cref="Open"/>.</summary>
    public void Close()
    {
        lock (_lock)
        {
            if (_open.Task.IsCompleted)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Lets every waiting write through, and every later one straight away.</summary>
    public void Open()
    {
        lock (_lock)
        {
            _open.TrySetResult();
        }
    }

    /// <summary>Completes once a write waits at the closed gate; fails after <paramref name="timeout"/>.</summary>
    public Task WriteBlocked(TimeSpan timeout)
    {
        lock (_lock)
        {
            return _blocked.Task.WaitAsync(timeout);
        }
    }

    public Task<IReadOnlyList<StoredWindow>> LoadAsync(WindowPartition partition, CancellationToken cancellationToken) =>
        inner.LoadAsync(partition, cancellationToken);

    public async Task<IReadOnlyList<WindowWriteResult>> WriteAsync(
        WindowPartition partition, IReadOnlyList<WindowWrite> writes, CancellationToken cancellationToken)
    {
        await PassAsync();
        return await inner.WriteAsync(partition, writes, cancellationToken);
    }

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private async Task PassAsync()
    {
        Task open;
        lock (_lock)
        {
            open = _open.Task;
            if (open.IsCompleted)
            {
                return;
            }

            _waiting++;
            _blocked.TrySetResult();
        }

        try
        {
            await open;
        }
        finally
        {
            lock (_lock)
            {
                _waiting--;
            }
        }
    }
}
