using Orleans.Hosting;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>A silo whose window owners answer late once <see cref="Enabled"/>: an overloaded cluster, alive but slow.</summary>
internal sealed class SlowPartitions(TimeSpan delay)
{
    private volatile bool _enabled;
    private int _delayed;

    public bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }

    /// <summary>How many calls to a window owner were held back.</summary>
    public int Delayed => Volatile.Read(ref _delayed);

    public void AddTo(ISiloBuilder silo) => silo.AddIncomingGrainCallFilter(async context =>
    {
        if (_enabled && context.InterfaceMethod?.DeclaringType == typeof(IWindowPartitionGrain))
        {
            Interlocked.Increment(ref _delayed);
            await Task.Delay(delay);
        }

        await context.Invoke();
    });
}
