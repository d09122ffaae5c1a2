using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.RateLimit.Grains;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// A silo with the rate-limit grains in a host of its own, on localhost clustering, for web nodes that are its clients; tests
/// stop it and start it again on the same ports.
/// </summary>
internal static class StandaloneTestSilo
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    public static async Task<IHost> StartAsync(
        int siloPort, int gatewayPort, string cluster, Action<ISiloBuilder>? configureSilo = null, Action<RateLimitGrainOptions>? configureGrains = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            EnvironmentName = Environments.Production,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = StopTimeout);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: cluster, clusterId: cluster).AddRateLimitGrains(configureGrains);
            configureSilo?.Invoke(silo);
        });
        return await builder.Build().StartOrDisposeAsync();
    }

    public static async Task StopAsync(IHost silo)
    {
        using var timeout = new CancellationTokenSource(StopTimeout);
        await silo.StopAsync(timeout.Token);
        silo.Dispose();
    }
}
