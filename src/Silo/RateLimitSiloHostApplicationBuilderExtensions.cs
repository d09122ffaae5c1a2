using Microsoft.Extensions.Configuration;
using Orleans.Hosting;
using Orleans.RateLimit.Silo;

namespace Microsoft.Extensions.Hosting;

/// <summary>Runs a rate-limit silo in a host, configured from the host's configuration.</summary>
public static class RateLimitSiloHostApplicationBuilderExtensions
{
    /// <summary>
    /// Adds an Orleans silo with the rate-limit grains, configured from the <paramref name="sectionName"/> section of the
    /// host's configuration (<c>appsettings.json</c>, environment variables, command line).
    /// </summary>
    /// <exception cref="InvalidOperationException">A configuration value cannot be read (an unknown clustering name, a port that is not a number); the message names the key.</exception>
    /// <exception cref="Options.OptionsValidationException">The configuration is invalid; the message names each key at fault.</exception>
    public static IHostApplicationBuilder UseOrleansRateLimitSilo(this IHostApplicationBuilder builder, string sectionName = RateLimitSiloOptions.SectionName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new RateLimitSiloOptions();
        builder.Configuration.GetSection(sectionName).Bind(options);
        builder.UseOrleans(silo => silo.UseRateLimitSilo(options));
        return builder;
    }
}
