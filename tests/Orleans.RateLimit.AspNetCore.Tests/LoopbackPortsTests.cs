using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>The ports silos and redis-server are started on: free, outside the ephemeral range, and replaced when taken.</summary>
public sealed class LoopbackPortsTests
{
    [Fact]
    public void Ports_are_free_distinct_and_outside_the_ephemeral_range()
    {
        var (first, last) = EphemeralRange();
        var ports = LoopbackPorts.Take(20).Concat(LoopbackPorts.Take(20)).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports, port =>
        {
            Assert.InRange(port, 10_000, IPEndPoint.MaxPort);
            Assert.False(port >= first && port <= last, $"{port} is in the ephemeral range {first}-{last}.");
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
        });
    }

    [Fact]
    public async Task A_silo_whose_port_was_taken_meanwhile_is_started_again_on_new_ports()
    {
        var attempts = new List<int[]>();
        TcpListener? squatter = null;
        try
        {
            using var silo = await LoopbackPorts.StartAsync(2, async ports =>
            {
                attempts.Add(ports);
                if (attempts.Count == 1)
                {
                    // Another process binds the gateway port between the check and the silo's start.
                    squatter = new TcpListener(IPAddress.Loopback, ports[1]);
                    squatter.Start();
                }

                return await StartSiloAsync(ports[0], ports[1]);
            });

            Assert.Equal(2, attempts.Count);
            Assert.Empty(attempts[0].Intersect(attempts[1]));
            await silo.StopAsync();
        }
        finally
        {
            squatter?.Dispose();
        }
    }

    [Fact]
    public void An_address_in_use_is_recognised_through_wrapping_exceptions()
    {
        var inUse = new SocketException((int)SocketError.AddressAlreadyInUse);

        Assert.True(LoopbackPorts.IsAddressInUse(inUse));
        Assert.True(LoopbackPorts.IsAddressInUse(new InvalidOperationException("start failed", inUse)));
        Assert.True(LoopbackPorts.IsAddressInUse(new AggregateException(new TimeoutException(), new InvalidOperationException("x", inUse))));
        Assert.True(LoopbackPorts.IsAddressInUse(new InvalidOperationException("bind: Address already in use")));
        Assert.False(LoopbackPorts.IsAddressInUse(new InvalidOperationException("start failed", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.False(LoopbackPorts.IsAddressInUse(new AggregateException(new TimeoutException())));
    }

    private static async Task<IHost> StartSiloAsync(int siloPort, int gatewayPort)
    {
        var cluster = "loopback-ports-" + Guid.NewGuid().ToString("N");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            EnvironmentName = Environments.Production,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: cluster, clusterId: cluster));
        return await builder.Build().StartOrDisposeAsync();
    }

    private static (int First, int Last) EphemeralRange()
    {
        const string Setting = "/proc/sys/net/ipv4/ip_local_port_range";
        if (!File.Exists(Setting))
        {
            return (32_768, 65_535);
        }

        var bounds = File.ReadAllText(Setting).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return (int.Parse(bounds[0], CultureInfo.InvariantCulture), int.Parse(bounds[1], CultureInfo.InvariantCulture));
    }
}
