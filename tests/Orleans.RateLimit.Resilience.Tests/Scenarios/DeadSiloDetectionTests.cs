using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.RateLimit.Resilience.Tests.Infrastructure;
using Orleans.RateLimit.Testing;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Orleans.RateLimit.Resilience.Tests.Scenarios;

/// <summary>
/// The membership timings every rate-limit silo gets from <c>UseOrleansRateLimitSilo</c>, with nothing configured: a silo in
/// the test process and the standalone silo host as a second process form a cluster, the process is killed with SIGKILL,
/// and the surviving silo must declare it dead within about 2 s, so that the partitions it owned move.
/// </summary>
public sealed class DeadSiloDetectionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>About 2 s, with room for a busy 2-core machine; Orleans' own defaults take several times as long.</summary>
    private static readonly TimeSpan DetectionBound = TimeSpan.FromSeconds(2.5);

    [Fact]
    public async Task A_killed_silo_is_declared_dead_within_about_two_seconds_with_the_shipped_membership_timings()
    {
        var cluster = "dead-silo-" + Guid.NewGuid().ToString("N");
        var survivor = await LoopbackPorts.StartAsync(2, ports => StartSiloAsync(cluster, ports[0], ports[1]));
        try
        {
            var survivorPort = survivor.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.Endpoint.Port;
            var peerPorts = LoopbackPorts.Take(2);
            using var peer = NodeProcess.Start("peer silo", BuildOutput.SiloHostDirectory, BuildOutput.SiloHostAssembly, new Dictionary<string, string>
            {
                ["RateLimitSilo__SiloPort"] = Text(peerPorts[0]),
                ["RateLimitSilo__GatewayPort"] = Text(peerPorts[1]),
                ["RateLimitSilo__PrimarySiloPort"] = Text(survivorPort),
                ["RateLimitSilo__ServiceId"] = cluster,
                ["RateLimitSilo__ClusterId"] = cluster,
            });
            var membership = survivor.Services.GetRequiredService<IClusterMembershipService>();
            await Wait.UntilAsync(
                () => Task.FromResult(peer.HasExited || membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active) == 2),
                StartTimeout,
                "a cluster of two active silos",
                peer.RecentOutput);
            Assert.False(peer.HasExited, peer.RecentOutput());
            var peerAddress = membership.CurrentSnapshot.Members.Values.Single(m => m.SiloAddress.Endpoint.Port == peerPorts[0]).SiloAddress;

            var clock = Stopwatch.StartNew();
            peer.Kill();
            await Wait.UntilAsync(
                () => Task.FromResult(membership.CurrentSnapshot.GetSiloStatus(peerAddress) == SiloStatus.Dead),
                TimeSpan.FromSeconds(30),
                "the killed silo to be declared dead");
            var declaredDead = clock.Elapsed;

            output.WriteLine($"killed silo declared dead {declaredDead.TotalSeconds:0.000} s after SIGKILL");
            Assert.True(declaredDead <= DetectionBound, $"Declared dead {declaredDead.TotalSeconds:0.000} s after the kill; expected at most {DetectionBound.TotalSeconds} s.");
        }
        finally
        {
            await survivor.StopAsync();
            survivor.Dispose();
        }
    }

    /// <summary>The primary silo, configured as the standalone silo host configures its own: <c>UseOrleansRateLimitSilo</c> from the section.</summary>
    private static async Task<IHost> StartSiloAsync(string cluster, int siloPort, int gatewayPort)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = Environments.Production });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RateLimitSilo:SiloPort"] = Text(siloPort),
            ["RateLimitSilo:GatewayPort"] = Text(gatewayPort),
            ["RateLimitSilo:ServiceId"] = cluster,
            ["RateLimitSilo:ClusterId"] = cluster,
        });
        builder.UseOrleansRateLimitSilo();
        return await builder.Build().StartOrDisposeAsync();
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
