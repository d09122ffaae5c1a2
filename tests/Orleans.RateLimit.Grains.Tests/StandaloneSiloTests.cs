using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.Grains.Tests;

public sealed class StandaloneSiloTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task Standalone_silo_process_serves_clients_and_keeps_counts_in_redis_across_restarts()
    {
        var ports = LoopbackPorts.Take(2);
        var (siloPort, gatewayPort) = (ports[0], ports[1]);
        var serviceId = "standalone-" + Guid.NewGuid().ToString("N");
        var window = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("10/hour"), "api", "10.1.2.3");

        using (var silo = StartSilo(siloPort, gatewayPort, serviceId))
        {
            using var client = await ConnectAsync(gatewayPort, serviceId, silo);
            var grains = client.Services.GetRequiredService<IClusterClient>();
            Assert.True((await grains.HitAsync(window, 4)).Allowed);
            await StopGracefullyAsync(silo);
        }

        using (var silo = StartSilo(siloPort, gatewayPort, serviceId))
        {
            using var client = await ConnectAsync(gatewayPort, serviceId, silo);
            var grains = client.Services.GetRequiredService<IClusterClient>();
            Assert.Equal(6, (await grains.StatsThroughHitAsync(window)).Remaining);
            await StopGracefullyAsync(silo);
        }
    }

    [Theory]
    [InlineData("Clustering=Redis", "RateLimitSilo:Redis is required when RateLimitSilo:Clustering is Redis.")]
    [InlineData("Storage=Redis", "RateLimitSilo:Redis is required when RateLimitSilo:Storage is Redis.")]
    [InlineData("SiloPort=70000", "RateLimitSilo:SiloPort 70000 is not a port (1–65535).")]
    [InlineData("GatewayPort=11111", "RateLimitSilo:SiloPort and RateLimitSilo:GatewayPort are both 11111; they must differ.")]
    [InlineData("Grains:MinFlushInterval=00:01:00", "RateLimitSilo:Grains: RateLimitGrainOptions.MinFlushInterval (00:01:00) must not exceed MaxFlushInterval (00:00:30).")]
    [InlineData("Grains:StorageTimeout=00:00:00", "RateLimitSilo:Grains: RateLimitGrainOptions.StorageTimeout must be positive, but is 00:00:00.")]
    public void Invalid_configuration_fails_at_startup_naming_the_key(string setting, string message)
    {
        var exception = Assert.Throws<OptionsValidationException>(() => BuildSiloHost(setting));

        Assert.Contains(message, exception.Failures);
    }

    [Fact]
    public void An_unknown_clustering_name_fails_at_startup_naming_the_key()
    {
        var exception = Assert.Throws<OptionsValidationException>(() => BuildSiloHost("Clustering=Consul"));

        Assert.Equal("Configuration value RateLimitSilo:Clustering 'Consul' is not one of Localhost, Redis.", exception.Message);
    }

    private static void BuildSiloHost(string setting)
    {
        var (name, value) = (setting[..setting.IndexOf('=', StringComparison.Ordinal)], setting[(setting.IndexOf('=', StringComparison.Ordinal) + 1)..]);
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [$"RateLimitSilo:{name}"] = value });
        builder.UseOrleansRateLimitSilo();
        using var host = builder.Build();
    }

    private Process StartSilo(int siloPort, int gatewayPort, string serviceId)
    {
        var hostDll = Path.Combine(HostDirectory(), "Orleans.RateLimit.Silo.Host.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { hostDll },
            WorkingDirectory = HostDirectory(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.Environment["RateLimitSilo__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["RateLimitSilo__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["RateLimitSilo__ServiceId"] = serviceId;
        start.Environment["RateLimitSilo__ClusterId"] = serviceId;
        start.Environment["RateLimitSilo__Storage"] = "Redis";
        start.Environment["RateLimitSilo__Redis"] = redis.ConnectionString;
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the standalone silo.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<IHost> ConnectAsync(int gatewayPort, string serviceId, Process silo)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (silo.HasExited)
            {
                throw new InvalidOperationException($"The standalone silo exited with code {silo.ExitCode}.");
            }

            var builder = Host.CreateApplicationBuilder();
            builder.UseOrleansClient(client => client.UseLocalhostClustering(gatewayPort, serviceId, serviceId));
            var host = builder.Build();
            try
            {
                await host.StartAsync();
                return host;
            }
            catch (Exception) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                host.Dispose();
                await Task.Delay(250);
            }
        }
    }

    private static async Task StopGracefullyAsync(Process silo)
    {
        // SIGTERM: the host stops the silo, which deactivates its partition grains and so writes their windows.
        using (var kill = Process.Start("kill", ["-TERM", silo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await silo.WaitForExitAsync(timeout.Token);
    }

    internal static string HostDirectory()
    {
        // tests/Orleans.RateLimit.Grains.Tests/bin/{Configuration}/net10.0 → src/Silo/Host/bin/{Configuration}/net10.0
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var repository = testOutput.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(repository, "src", "Silo", "Host", "bin", configuration, framework);
    }
}
