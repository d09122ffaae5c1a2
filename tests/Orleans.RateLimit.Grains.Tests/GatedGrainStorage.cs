using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// Sits in front of the rate-limit grains' real storage; while closed, writes and clears wait at the gate and reach the real
/// storage only once it opens, as they would behind a storage that stalls. Reads always pass.
/// </summary>
public sealed class GatedGrainStorage(IGrainStorage inner) : IGrainStorage
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _open = Opened();
    private TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;

    /// <summary>How many writes (and clears) wait at the gate now.</summary>
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

    /// <summary>Replaces the rate-limit grains' storage of one silo with a gate in front of it; returns the gate through <paramref name="gates"/>.</summary>
    public static void AddTo(IServiceCollection services, ICollection<GatedGrainStorage> gates)
    {
        var registered = services.Single(s => s.IsKeyedService && Equals(s.ServiceKey, RateLimitGrainOptions.StorageProviderName) && s.ServiceType == typeof(IGrainStorage));
        var factory = registered.KeyedImplementationFactory ?? throw new InvalidOperationException("The grain storage is expected to be registered by a factory.");
        services.Remove(registered);
        services.AddKeyedSingleton<IGrainStorage>(RateLimitGrainOptions.StorageProviderName, (provider, key) =>
        {
            var gate = new GatedGrainStorage((IGrainStorage)factory(provider, key));
            lock (gates)
            {
                gates.Add(gate);
            }

            return gate;
        });
    }

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

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await PassAsync();
        await inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await PassAsync();
        await inner.ClearStateAsync(stateName, grainId, grainState);
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
