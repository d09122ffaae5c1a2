using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.RateLimit.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Orleans.RateLimit's ASP.NET Core limiter.</summary>
public static class RateLimitServiceCollectionExtensions
{
    // A probe runs in the background, one at a time, and a silo that has just come back answers its first calls slowly
    // (activations, storage reads); with the request timeout every first probe after a restart would fail.
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Adds the limiter: binds <see cref="RateLimitOptions"/> from the <c>RateLimit</c> configuration section, then applies
    /// <paramref name="configure"/>, and validates the result when the host starts. With the Orleans backend (the default)
    /// the limiter calls the partition grains that own the windows through the registered <c>IGrainFactory</c>: a co-hosted silo's
    /// (<c>builder.UseOrleans(s => s.AddRateLimitGrains())</c>) or an Orleans client's (<c>builder.UseOrleansClient(...)</c>).
    /// Add the middleware with <c>app.UseOrleansRateLimiting()</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called twice.</exception>
    public static IServiceCollection AddOrleansRateLimiting(this IServiceCollection services, Action<RateLimitOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(LimitEvaluator)))
        {
            throw new InvalidOperationException("AddOrleansRateLimiting() was called twice; configure the limiter in one call.");
        }

        services.AddSingleton<IConfigureOptions<RateLimitOptions>>(
            sp => new RateLimitOptionsConfigurator(sp.GetRequiredService<IConfiguration>(), RateLimitOptions.SectionName));
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>();
        services.AddOptions<RateLimitOptions>().ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<LimitTextCache>();
        services.AddSingleton<MetaBlockCache>();
        services.AddSingleton<MemoryRateLimitStore>();
        services.AddSingleton<RateLimitHealthState>();
        services.AddSingleton<RateLimitMetrics>();
        services.AddSingleton(sp => new CallDeadlines(
            sp.GetRequiredService<IOptions<RateLimitOptions>>().Value.GrainCallTimeout, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(CreateStores);
        services.AddSingleton(sp => sp.GetRequiredService<RateLimitStores>().Top);
        services.AddHostedService<RateLimitStorageWarmUp>();
        services.AddHostedService<LeaseReturnOnShutdown>();
        services.AddSingleton<LimitEvaluator>();
        services.AddSingleton<RateLimitHeaderWriter>();
        services.AddSingleton<RateLimitResponseHook>();
        services.AddSingleton<EndpointLimitValidator>();
        services.AddSingleton<IRequestLimiter, RequestLimiter>();
        return services;
    }

    private static RateLimitStores CreateStores(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        var memory = services.GetRequiredService<MemoryRateLimitStore>();
        var time = services.GetRequiredService<TimeProvider>();
        var metrics = services.GetRequiredService<RateLimitMetrics>();
        if (options.Backend == RateLimitBackend.Memory)
        {
            return new RateLimitStores(new ResilientRateLimitStore(memory, ping: null, memory, circuit: null, failover: null, options, time, metrics), Leased: null);
        }

        var grains = services.GetService<IGrainFactory>() ?? throw new InvalidOperationException(
            "The Orleans rate-limit backend needs an IGrainFactory: host a silo with builder.UseOrleans(silo => silo.AddRateLimitGrains()), " +
            "or connect to a cluster with builder.UseOrleansClient(...); or set RateLimit:Backend to Memory for a single node.");
        var grainStore = new GrainRateLimitStore(
            grains, options.Partitions, services.GetRequiredService<CallDeadlines>(), time, metrics, services.GetRequiredService<ILogger<GrainRateLimitStore>>());
        var lastSeen = new LastSeenCounts();
        var leased = new LeasedRateLimitStore(grainStore, options.Leasing, lastSeen, time, metrics);
        var failover = new ClusterFailover(memory, leased, lastSeen, new FallbackHits(grainStore, options.Partitions, time, metrics), time);
        var probeTimeout = options.GrainCallTimeout > ProbeTimeout ? options.GrainCallTimeout : ProbeTimeout;
        var circuit = new StorageCircuit(
            () => grainStore.PingAsync().WaitAsync(probeTimeout, time),
            options.CircuitBreakerThreshold,
            options.CircuitBreakerDuration,
            time,
            options.InMemoryFallbackEnabled || options.InMemoryFallback.Count > 0,
            metrics,
            services.GetRequiredService<ILogger<StorageCircuit>>());
        return new RateLimitStores(new ResilientRateLimitStore(leased, grainStore.PingAsync, memory, circuit, failover, options, time, metrics), leased);
    }
}
