using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.RateLimit.Grains;
using Orleans.RateLimit.Silo;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orleans.Hosting;

/// <summary>Adds the rate-limit grains to a silo.</summary>
public static class RateLimitGrainsSiloBuilderExtensions
{
    private const string InnerRedisStorageName = RateLimitGrainOptions.StorageProviderName + ".Redis";

    /// <summary>
    /// Adds the rate-limit window and meta-limit grains to this silo. With no Redis connection string the window state is kept
    /// in the cluster's memory; with one, windows longer than the persistence threshold are written behind to Redis.
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
        builder.Services.AddSerializer(serializer => serializer
            .AddAssembly(typeof(IRateLimitWindowGrain).Assembly)
            .AddAssembly(typeof(IWindowStateStoreGrain).Assembly));
        builder.Configure<GrainCollectionOptions>(collection =>
        {
            collection.ClassSpecificCollectionAge[typeof(RateLimitWindowGrain).FullName!] = options.CollectionAge;
            collection.ClassSpecificCollectionAge[typeof(MetaLimitGrain).FullName!] = options.CollectionAge;
        });

        if (options.RedisConnectionString is null)
        {
            // Not Orleans' memory storage: that one never forgets a key (see WindowStateStoreGrain).
            builder.Services.AddKeyedSingleton<IGrainStorage>(RateLimitGrainOptions.StorageProviderName, (provider, _) => new WindowStateMemoryStorage(
                provider.GetRequiredService<IGrainFactory>(), provider.GetRequiredService<Serializer>(), options));
        }
        else
        {
            AddRedisStorage(builder, options);
        }

        return builder;
    }

    private static void AddRedisStorage(ISiloBuilder builder, RateLimitGrainOptions options)
    {
        var services = builder.Services;
        services.AddSingleton(_ => new RateLimitRedisConnection(options));
        services.AddSingleton<RedisWindowKeys>();
        services.AddRedisGrainStorage(InnerRedisStorageName, storage => storage.Configure<RateLimitRedisConnection, RedisWindowKeys>(
            (redis, connection, keys) =>
            {
                redis.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(options.RedisConnectionString!);
                redis.DeleteStateOnClear = true;
                redis.CreateMultiplexer = async _ => (await connection.GetAsync().ConfigureAwait(false), true);
                redis.GetStorageKey = (_, grainId) => keys.For(grainId);

                // EntryExpiry is left unset although it would put a ceiling on keys whose own expiry could not be set: the
                // ceiling must outlast the longest window the parser allows (100 years; a sliding counter's state lives for
                // two periods) plus the grace, so it would bound nothing in practice (and the provider means any value for
                // ephemeral environments only). A key left without expiry gets one at its window's next write.
            }));
        services.AddKeyedSingleton<IGrainStorage>(RateLimitGrainOptions.StorageProviderName, (provider, _) => new ExpiringRedisGrainStorage(
            provider.GetRequiredKeyedService<IGrainStorage>(InnerRedisStorageName),
            provider.GetRequiredService<RateLimitRedisConnection>(),
            provider.GetRequiredService<RedisWindowKeys>(),
            options,
            provider.GetKeyedService<TimeProvider>(TimeProviderNames.Grains) ?? provider.GetService<TimeProvider>() ?? TimeProvider.System,
            provider.GetRequiredService<RateLimitGrainMetrics>(),
            provider.GetRequiredService<ILogger<ExpiringRedisGrainStorage>>()));
    }

    private sealed class RateLimitGrainsMarker;
}
