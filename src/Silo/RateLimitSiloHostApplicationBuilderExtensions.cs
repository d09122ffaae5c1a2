using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.RateLimit.Silo;

namespace Microsoft.Extensions.Hosting;

/// <summary>Runs a rate-limit silo in a host, or connects the host to a rate-limit cluster, configured from the host's configuration.</summary>
public static class RateLimitSiloHostApplicationBuilderExtensions
{
    /// <summary>
    /// Joins this host to a rate-limit cluster as the <paramref name="sectionName"/> section of the host's configuration
    /// (<c>appsettings.json</c>, environment variables, command line) says. With <c>Mode</c> <c>Silo</c> (the default) the
    /// host runs an Orleans silo with the rate-limit grains, standalone or embedded in a web app; with <c>Mode</c>
    /// <c>Client</c> it runs no silo and is an Orleans client of a standalone cluster, found through the same
    /// <c>Clustering</c>, <c>Redis</c> or <c>GatewayPort</c>, <c>ClusterId</c> and <c>ServiceId</c> settings as the silos
    /// use. Either way the host gets an <c>IGrainFactory</c> for the limiter.
    /// </summary>
    /// <remarks>
    /// The section is read strictly: keys are case-insensitive, and an unknown key, a value that does not parse, a key of the
    /// other mode (e.g. <c>SiloPort</c> in client mode) and an invalid combination of values each fail the start, all of
    /// them together in one exception.
    /// </remarks>
    /// <exception cref="OptionsValidationException">The configuration is invalid; <see cref="OptionsValidationException.Failures"/> names each key at fault, in configuration order.</exception>
    public static IHostApplicationBuilder UseOrleansRateLimitSilo(this IHostApplicationBuilder builder, string sectionName = RateLimitSiloOptions.SectionName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(sectionName);
        var problems = new List<string>();
        var options = RateLimitSiloConfiguration.Read(builder.Configuration.GetSection(sectionName), problems);
        problems.AddRange(options.Validate(sectionName));
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(sectionName, typeof(RateLimitSiloOptions), problems);
        }

        if (options.Mode == SiloMode.Client)
        {
            builder.UseOrleansClient(client => client.UseRateLimitCluster(options));
        }
        else
        {
            builder.UseOrleans(silo => silo.UseRateLimitSilo(options));
        }

        return builder;
    }
}
