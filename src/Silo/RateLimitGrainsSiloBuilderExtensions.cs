using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.RateLimit.Grains;
using Orleans.RateLimit.Silo;
using Orleans.Runtime;
using Orleans.Serialization;

namespace Orleans.Hosting;

/// <summary>Adds the rate-limit grains to a silo.</summary>
public static class RateLimitGrainsSiloBuilderExtensions
{
    /// <summary>
    /// Adds the rate-limit window partition grains to this silo. With no Redis connection string windows are kept in the
    /// partitions' memory only; with one, windows longer than the persistence threshold are written behind to Redis.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configure">Sets the options; it runs once, here, because the options decide which storage is registered.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names each invalid option.</exception>
    /// <exception cref="InvalidOperationException">The grains were already added to this silo.</exception>
    /// <example><code>builder.UseOrleans(silo => silo.UseLocalhostClustering().AddRateLimitGrains());</code></example>
    public static ISiloBuilder AddRateLimitGrains(this ISiloBuilder builder, Action<RateLimitGrainOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new RateLimitGrainOptions();
        configure?.Invoke(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(RateLimitGrainOptions), typeof(RateLimitGrainOptions), errors);
        }

        if (builder.Services.Any(service => service.ServiceType == typeof(RateLimitGrainsMarker)))
        {
            throw new InvalidOperationException("AddRateLimitGrains was called twice for one silo; call it once, with all options.");
        }

        builder.Services.AddSingleton<RateLimitGrainsMarker>();
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<RateLimitGrainMetrics>();
        builder.Services.AddSerializer(serializer => serializer.AddAssembly(typeof(IWindowPartitionGrain).Assembly));

        // Without Redis nothing is registered: a partition that finds no storage keeps its windows in memory.
        if (options.RedisConnectionString is not null)
        {
            builder.Services.AddSingleton(_ => new RateLimitRedisConnection(options));
            builder.Services.AddSingleton<IWindowPartitionStorage>(provider => new RedisWindowPartitionStorage(
                provider.GetRequiredService<RateLimitRedisConnection>(),
                new RedisPartitionKeys(provider.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId),
                provider.GetKeyedService<TimeProvider>(TimeProviderNames.Grains) ?? provider.GetService<TimeProvider>() ?? TimeProvider.System,
                provider.GetRequiredService<RateLimitGrainMetrics>(),
                provider.GetRequiredService<ILogger<RedisWindowPartitionStorage>>()));
        }

        return builder;
    }

    private sealed class RateLimitGrainsMarker;
}
