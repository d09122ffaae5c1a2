using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.RateLimit.Silo;
using Orleans.Runtime;

namespace Orleans.Hosting;

/// <summary>Configures a whole rate-limit silo (clustering, endpoints, membership, grains, storage) from <see cref="RateLimitSiloOptions"/>.</summary>
public static class RateLimitSiloBuilderExtensions
{
    /// <summary>
    /// Configures this silo as <paramref name="options"/> say: clustering (localhost or Redis), ports, cluster and service ids,
    /// membership timings (<see cref="RateLimitSiloOptions.Membership"/>: a crashed silo is declared dead within about 2 s),
    /// and the rate-limit grains with memory or Redis storage. <see cref="ClusterMembershipOptions"/> configured after this
    /// call override the membership timings.
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names each configuration key at fault.</exception>
    /// <exception cref="ArgumentException"><see cref="RateLimitSiloOptions.Mode"/> is <see cref="SiloMode.Client"/>.</exception>
    public static ISiloBuilder UseRateLimitSilo(this ISiloBuilder builder, RateLimitSiloOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mode == SiloMode.Client)
        {
            throw new ArgumentException(
                "The options are for a client (Mode is Client); configure a client with IClientBuilder.UseRateLimitCluster, or set Mode to Silo.",
                nameof(options));
        }

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
            var markerKey = ClusterMembershipGuard.MarkerKey(options.ServiceId, options.ClusterId);
            var redis = options.Redis!;
            builder.Services.AddHostedService(services => new ClusterMembershipGuard(
                redis,
                markerKey,
                services.GetRequiredService<IClusterMembershipService>(),
                services.GetRequiredService<ILocalSiloDetails>(),
                services.GetRequiredService<IHostApplicationLifetime>(),
                services.GetService<TimeProvider>() ?? TimeProvider.System,
                services.GetRequiredService<ILogger<ClusterMembershipGuard>>()));
        }

        builder.Configure<ClusterMembershipOptions>(options.Membership.Copy().CopyTo);
        return builder.AddRateLimitGrains(options.GrainOptions().CopyTo);
    }
}
