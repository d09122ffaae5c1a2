using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.RateLimit.Grains;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// A web node that is an Orleans client of a separate silo, which tests stop and start again on the same ports: the cluster
/// really goes away and comes back. Real time, since the point is how fast requests are answered while it is gone.
/// </summary>
public sealed class ClientModeApp : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly int _siloPort;
    private readonly int _gatewayPort;
    private readonly string _cluster;
    private readonly Action<ISiloBuilder>? _configureSilo;
    private readonly Action<RateLimitGrainOptions>? _configureGrains;
    private readonly WebApplication _web;
    private IHost? _silo;

    private ClientModeApp(
        int siloPort, int gatewayPort, string cluster, Action<ISiloBuilder>? configureSilo, Action<RateLimitGrainOptions>? configureGrains, IHost silo, WebApplication web, TestLogSink logs)
    {
        _configureGrains = configureGrains;
        _siloPort = siloPort;
        _gatewayPort = gatewayPort;
        _cluster = cluster;
        _configureSilo = configureSilo;
        _silo = silo;
        _web = web;
        Logs = logs;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = TestNode.BaseAddress(web),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public HttpClient Client { get; }

    public TestLogSink Logs { get; }

    /// <summary>The web node's services.</summary>
    public IServiceProvider Services => _web.Services;

    /// <summary>
    /// A web node whose limiter is tuned for these tests (see <see cref="TuneForTests"/>), then configured by
    /// <paramref name="configure"/>.
    /// </summary>
    /// <param name="configure">The limiter's options, after the tuning.</param>
    /// <param name="map">The web node's endpoints.</param>
    /// <param name="configureGrains">The silo's grain options (e.g. Redis storage), kept for every restart of the silo.</param>
    public static Task<ClientModeApp> StartAsync(Action<RateLimitOptions> configure, Action<WebApplication> map, Action<RateLimitGrainOptions>? configureGrains = null)
    {
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(map);
        return LoopbackPorts.StartAsync(2, ports => StartAsync(ports[0], ports[1], o =>
        {
            TuneForTests(o);
            configure(o);
        }, map, configureSilo: null, configureGrains));
    }

    /// <summary>A web node whose limiter has the options as shipped, and a silo configured by <paramref name="configureSilo"/>.</summary>
    public static Task<ClientModeApp> StartWithDefaultOptionsAsync(Action<WebApplication> map, Action<ISiloBuilder>? configureSilo = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        return LoopbackPorts.StartAsync(2, ports => StartAsync(ports[0], ports[1], _ => { }, map, configureSilo, configureGrains: null));
    }

    private static async Task<ClientModeApp> StartAsync(
        int siloPort, int gatewayPort, Action<RateLimitOptions> configure, Action<WebApplication> map, Action<ISiloBuilder>? configureSilo, Action<RateLimitGrainOptions>? configureGrains)
    {
        var cluster = "client-mode-" + Guid.NewGuid().ToString("N");
        var logs = new TestLogSink();
        var silo = await StandaloneTestSilo.StartAsync(siloPort, gatewayPort, cluster, configureSilo, configureGrains);
        WebApplication? web = null;
        try
        {
            web = BuildWeb(gatewayPort, cluster, logs, configure);
            web.UseOrleansRateLimiting();
            map(web);
            await web.StartAsync();
            return new ClientModeApp(siloPort, gatewayPort, cluster, configureSilo, configureGrains, silo, web, logs);
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

        _silo = await StandaloneTestSilo.StartAsync(_siloPort, _gatewayPort, _cluster, _configureSilo, _configureGrains);
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

    private static WebApplication BuildWeb(int gatewayPort, string cluster, TestLogSink logs, Action<RateLimitOptions> configure)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(ClientModeApp).Assembly.GetName().Name,
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
        builder.Services.AddOrleansRateLimiting(configure);
        return builder.Build();
    }

    private static void TuneForTests(RateLimitOptions options)
    {
        // Tests run beside others on two cores: a 50 ms call can be slow for reasons that have nothing to do with the
        // cluster. What these tests stop is the silo itself, and a stopped silo fails calls at once.
        options.GrainCallTimeout = TimeSpan.FromMilliseconds(500);

        // These tests are about what the limiter does while the circuit is open, not about when it opens (that is
        // StorageCircuitTests', on a fake clock): it opens at the third failure in a row, without a second of real time.
        options.CircuitBreakerDuration = TimeSpan.Zero;
    }
}
