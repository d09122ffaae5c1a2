using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.RateLimit.Silo;

namespace Orleans.Hosting;

/// <summary>Configures a whole rate-limit silo (clustering, endpoints, grains, storage) from <see cref="RateLimitSiloOptions"/>.</summary>
public static class RateLimitSiloBuilderExtensions
{
    /// <summary>
    /// Configures this silo as <paramref name="options"/> say: clustering (localhost or Redis), ports, cluster and service ids,
    /// and the rate-limit grains with memory or Redis storage.
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names each configuration key at fault.</exception>
    public static ISiloBuilder UseRateLimitSilo(this ISiloBuilder builder, RateLimitSiloOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(RateLimitSiloOptions.SectionName, typeof(RateLimitSiloOptions), errors);
        }

        if (options.Clustering == SiloClustering.Localhost)
        {
            var primary = options.PrimarySiloPort is { } port ? new IPEndPoint(IPAddress.Loopback, port) : null;
            builder.UseLocalhostClustering(options.SiloPort, options.GatewayPort, primary, options.ServiceId, options.ClusterId);
        }
        else
        {
            builder.UseRedisClustering(options.Redis!);
            builder.Configure<ClusterOptions>(cluster =>
            {
                cluster.ClusterId = options.ClusterId;
                cluster.ServiceId = options.ServiceId;
            });
            builder.ConfigureEndpoints(IPAddress.Parse(options.AdvertisedAddress), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: false);
        }

        return builder.AddRateLimitGrains(options.GrainOptions().CopyTo);
    }
}
