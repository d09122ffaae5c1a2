using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// A web node that is an Orleans client of a separate silo, which tests stop and start again on the same ports, with its
/// health checks at <c>/healthz</c>. The limiter runs on a fake clock, so that a test moves its recent interval and its
/// circuit's probes on instead of waiting; Orleans' own timers keep the system clock.
/// </summary>
public sealed class HealthClientApp : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly int _siloPort;
    private readonly int _gatewayPort;
    private readonly string _cluster;
    private readonly WebApplication _web;
    private IHost? _silo;

    private HealthClientApp(int siloPort, int gatewayPort, string cluster, IHost silo, WebApplication web, FakeTimeProvider clock, TestLogSink logs)
    {
        _siloPort = siloPort;
        _gatewayPort = gatewayPort;
        _cluster = cluster;
        _silo = silo;
        _web = web;
        Clock = clock;
        Logs = logs;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = TestNode.BaseAddress(web),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public HttpClient Client { get; }

    public FakeTimeProvider Clock { get; }

    public TestLogSink Logs { get; }

    /// <summary>The web node's services.</summary>
    public IServiceProvider Services => _web.Services;

    /// <summary>
    /// A web node whose limiter is configured by <paramref name="configure"/>, with the endpoints of <paramref name="map"/>, the
    /// limiter's health check under its default name, and the checks <paramref name="health"/> adds.
    /// </summary>
    public static Task<HealthClientApp> StartAsync(
        Action<RateLimitOptions> configure, Action<WebApplication> map, Action<IHealthChecksBuilder>? health = null)
    {
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(map);
        return LoopbackPorts.StartAsync(2, ports => StartAsync(ports[0], ports[1], configure, map, health));
    }

    /// <summary>Stops the silo; the web node stays up with no cluster to call.</summary>
    public async Task StopSiloAsync()
    {
        var silo = _silo ?? throw new InvalidOperationException("The silo is not running.");
        _silo = null;
        await StandaloneTestSilo.StopAsync(silo);
    }

    /// <summary>Starts a new silo on the same ports; the web node's client reconnects to it by itself.</summary>
    public async Task StartSiloAsync()
    {
        if (_silo is not null)
        {
            throw new InvalidOperationException("The silo is already running.");
        }

        _silo = await StandaloneTestSilo.StartAsync(_siloPort, _gatewayPort, _cluster);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _web.StopAsync();
        await _web.DisposeAsync();
        if (_silo is { } silo)
        {
            _silo = null;
            await StandaloneTestSilo.StopAsync(silo);
        }
    }

    private static async Task<HealthClientApp> StartAsync(
        int siloPort, int gatewayPort, Action<RateLimitOptions> configure, Action<WebApplication> map, Action<IHealthChecksBuilder>? health)
    {
        var cluster = "health-" + Guid.NewGuid().ToString("N");
        var logs = new TestLogSink();
        var clock = new FakeTimeProvider(TestApp.Start);
        var silo = await StandaloneTestSilo.StartAsync(siloPort, gatewayPort, cluster);
        WebApplication? web = null;
        try
        {
            web = BuildWeb(gatewayPort, cluster, clock, logs, configure, health);
            web.UseOrleansRateLimiting();
            map(web);
            web.MapHealthChecks("/healthz");
            await web.StartAsync();
            return new HealthClientApp(siloPort, gatewayPort, cluster, silo, web, clock, logs);
        }
        catch
        {
            if (web is not null)
            {
                await web.DisposeAsync();
            }

            await StandaloneTestSilo.StopAsync(silo);
            throw;
        }
    }

    private static WebApplication BuildWeb(
        int gatewayPort, string cluster, FakeTimeProvider clock, TestLogSink logs, Action<RateLimitOptions> configure, Action<IHealthChecksBuilder>? health)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(HealthClientApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = StopTimeout);
        TestNode.ConfigureLogging(builder.Logging, logs);
        builder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(gatewayPort, cluster, cluster);

            // A restarted gateway is found again within a second instead of the default minute.
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
        });
        builder.Services.AddOrleansRateLimiting(o =>
        {
            // What these tests stop is the silo itself, and a stopped silo fails calls at once: the circuit opens at the
            // third failure in a row, and no call waits for a deadline on the fake clock.
            o.CircuitBreakerDuration = TimeSpan.Zero;
            configure(o);
        });
        var checks = builder.Services.AddHealthChecks().AddOrleansRateLimiting();
        health?.Invoke(checks);

        // After Orleans' defaults and the limiter's, so that the fake clock is the TimeProvider resolved.
        GrainClock.UseFakeClockForGrains(builder.Services, clock);
        return builder.Build();
    }
}
