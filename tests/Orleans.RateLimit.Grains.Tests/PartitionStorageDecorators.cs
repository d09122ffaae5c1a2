using Microsoft.Extensions.DependencyInjection;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Puts a decorator in front of the partition storage that <c>AddRateLimitGrains</c> registered on one silo.</summary>
internal static class PartitionStorageDecorators
{
    /// <summary>
    /// Registers, after the real storage, a storage that <paramref name="wrap"/> builds around it (the last registration is
    /// the one resolved); each decorator built is added to <paramref name="built"/>.
    /// </summary>
    public static void Decorate<T>(IServiceCollection services, Func<IWindowPartitionStorage, T> wrap, ICollection<T> built)
        where T : IWindowPartitionStorage
    {
        var real = services.Last(s => s.ServiceType == typeof(IWindowPartitionStorage)).ImplementationFactory
            ?? throw new InvalidOperationException("The partition storage is expected to be registered by a factory.");
        services.AddSingleton<IWindowPartitionStorage>(provider =>
        {
            var decorator = wrap((IWindowPartitionStorage)real(provider));
            lock (built)
            {
                built.Add(decorator);
            }

            return decorator;
        });
    }
}
