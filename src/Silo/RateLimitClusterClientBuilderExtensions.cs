using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.RateLimit.Grains;
using Orleans.RateLimit.Silo;
using Orleans.Serialization;

namespace Orleans.Hosting;

/// <summary>Connects an Orleans client to a standalone rate-limit cluster as <see cref="RateLimitSiloOptions"/> say.</summary>
public static class RateLimitClusterClientBuilderExtensions
{
    // Web nodes and silos are often started together; the silos then need a few seconds before their gateways admit clients.
    private static readonly TimeSpan FirstConnectionPatience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FirstConnectionRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Configures this client for the rate-limit cluster <paramref name="options"/> describe: with localhost clustering it
    /// connects to the gateway on 127.0.0.1:<see cref="RateLimitSiloOptions.GatewayPort"/>, with Redis clustering to the
    /// gateways registered in <see cref="RateLimitSiloOptions.Redis"/>; with the same cluster and service ids as the silos.
    /// The first connection is retried for 30 s, so a client started with its silos waits for them. The silo-only options
    /// are not used.
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names each configuration key at fault.</exception>
    /// <exception cref="ArgumentException"><see cref="RateLimitSiloOptions.Mode"/> is not <see cref="SiloMode.Client"/>.</exception>
    /// <example><code>builder.UseOrleansClient(client => client.UseRateLimitCluster(new RateLimitSiloOptions { Mode = SiloMode.Client, GatewayPort = 30000 }));</code></example>
    public static IClientBuilder UseRateLimitCluster(this IClientBuilder builder, RateLimitSiloOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mode != SiloMode.Client)
        {
            throw new ArgumentException(
                "The options are for a silo (Mode is Silo); configure a silo with ISiloBuilder.UseRateLimitSilo, or set Mode to Client.",
                nameof(options));
        }

        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(RateLimitSiloOptions.SectionName, typeof(RateLimitSiloOptions), errors);
        }

        if (options.Clustering == SiloClustering.Localhost)
        {
            builder.UseLocalhostClustering(options.GatewayPort, options.ServiceId, options.ClusterId);
        }
        else
        {
            builder.UseRedisClustering(options.Redis!);
            builder.Configure<ClusterOptions>(cluster =>
            {
                cluster.ClusterId = options.ClusterId;
                cluster.ServiceId = options.ServiceId;
            });
        }

        var refreshPeriod = options.GatewayListRefreshPeriod;
        builder.Configure<GatewayOptions>(gateways => gateways.GatewayListRefreshPeriod = refreshPeriod);
        builder.Services.AddSerializer(serializer => serializer.AddAssembly(typeof(IWindowPartitionGrain).Assembly));
        long? firstFailure = null;
        builder.UseConnectionRetryFilter(async (_, cancellation) =>
        {
            firstFailure ??= TimeProvider.System.GetTimestamp();
            if (TimeProvider.System.GetElapsedTime(firstFailure.Value) >= FirstConnectionPatience)
            {
                return false;
            }

            await Task.Delay(FirstConnectionRetryDelay, cancellation).ConfigureAwait(false);
            return true;
        });
        return builder;
    }
}
