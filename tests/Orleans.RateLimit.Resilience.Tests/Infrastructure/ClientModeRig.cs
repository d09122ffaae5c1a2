using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.RateLimit.Grains;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// Client mode, for real: redis-server, the standalone silo host as its own process (window state in Redis), and a web node
/// in the test process that reaches the silo as an Orleans client through its gateway.
/// </summary>
internal sealed class ClientModeRig : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly RedisProcess _redis;
    private int _siloPort;
    private int _gatewayPort;
    private readonly string _serviceId = "client-mode-" + Guid.NewGuid().ToString("N");
    private WebApplication? _web;

    private ClientModeRig(RedisProcess redis)
    {
        _redis = redis;
    }

    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public CapturedLogs Logs { get; private set; } = null!;

    /// <summary>Tells a starved test process from a slow limiter when an answer is late.</summary>
    public ThreadPoolMonitor PoolMonitor { get; private set; } = null!;

    public NodeMetrics Metrics { get; private set; } = null!;

    public LoadGenerator Load { get; private set; } = null!;

    public NodeProcess Silo { get; private set; } = null!;

    public IClusterClient Grains => _web!.Services.GetRequiredService<IClusterClient>();

    /// <summary>When the warm-up ended; the circuit's log records and the metrics count from here.</summary>
    public TimeSpan WarmedUpAt { get; private set; }

    /// <summary>Starts Redis, the silo process and the web node; returns once the web node's client has connected.</summary>
    public static async Task<ClientModeRig> StartAsync(string limit)
    {
        ThreadPoolCapacity.Ensure();
        var redis = new RedisProcess();
        var rig = new ClientModeRig(redis);
        try
        {
            await redis.StartAsync();
            rig.Silo = await LoopbackPorts.StartAsync(2, rig.StartSiloAsync);
            await rig.StartWebNodeAsync(limit);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Past the first calls of the fresh processes (see <see cref="WarmUp"/>): a grain call made directly, then requests
    /// until one is decided by its grain. Returns how often the circuit opened meanwhile.
    /// </summary>
    public async Task<long> WarmUpAsync(string limit)
    {
        var openings = await WarmUp.PastFirstCallsAsync(Grains, limit, Load, Metrics);
        WarmedUpAt = Clock.Elapsed;
        return openings;
    }

    /// <summary>Starts the silo process again on the same ports and service id; returns once its gateway accepts connections.</summary>
    public async Task RestartSiloAsync()
    {
        if (!Silo.HasExited)
        {
            throw new InvalidOperationException("The silo process still runs.");
        }

        Silo.Dispose();
        Silo = StartSilo();
        await Wait.ForPortAsync(_gatewayPort, Silo, StartTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        Load?.Dispose();
        Metrics?.Dispose();
        PoolMonitor?.Dispose();
        Silo?.Dispose();
        if (_web is not null)
        {
            await _web.StopAsync();
            await _web.DisposeAsync();
        }

        _redis.Dispose();
    }

    /// <summary>The silo process on new ports, once its gateway listens; a process that could not bind them has exited.</summary>
    private async Task<NodeProcess> StartSiloAsync(int[] ports)
    {
        (_siloPort, _gatewayPort) = (ports[0], ports[1]);
        var silo = StartSilo();
        try
        {
            await Wait.ForPortAsync(_gatewayPort, silo, StartTimeout);
            return silo;
        }
        catch
        {
            silo.Dispose();
            throw;
        }
    }

    private NodeProcess StartSilo() => NodeProcess.Start("silo", BuildOutput.SiloHostDirectory, BuildOutput.SiloHostAssembly, new Dictionary<string, string>
    {
        ["RateLimitSilo__ServiceId"] = _serviceId,
        ["RateLimitSilo__ClusterId"] = _serviceId,
        ["RateLimitSilo__SiloPort"] = _siloPort.ToString(CultureInfo.InvariantCulture),
        ["RateLimitSilo__GatewayPort"] = _gatewayPort.ToString(CultureInfo.InvariantCulture),
        ["RateLimitSilo__Storage"] = "Redis",
        ["RateLimitSilo__Redis"] = _redis.ConnectionString,
        // Hour-long windows are written every second, not every 30 s, so what a test reads back does not hang on how the silo went away.
        ["RateLimitSilo__Grains__MaxFlushInterval"] = "00:00:01",
    });

    private async Task StartWebNodeAsync(string limit)
    {
        Logs = new CapturedLogs(Clock);
        PoolMonitor = new ThreadPoolMonitor(Clock);
        var settings = new Dictionary<string, string?>
        {
            ["RateLimit:DefaultLimits"] = limit,
            ["RateLimit:KeyHeader"] = LoadGenerator.KeyHeader,
            ["RateLimit:HeadersEnabled"] = "true",

            // Otherwise the options as shipped: the in-memory fallback on, the circuit opening after a second of failures.
            ["RateLimit:GrainCallTimeout"] = "00:00:00.050",
        };
        _web = WebNode.Build(settings, Logs, builder => builder.UseOrleansClient(client => client
            .UseLocalhostClustering(_gatewayPort, _serviceId, _serviceId)
            // With a static gateway list a gateway marked dead is left out until the list is refreshed (default: every
            // minute); refreshed every second, a restarted silo is used again as soon as it listens.
            .Configure<GatewayOptions>(gateway => gateway.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1))
            // The gateway may accept connections a moment before the silo admits clients: retry the first connection.
            .UseConnectionRetryFilter(async (_, cancellation) =>
            {
                await Task.Delay(200, cancellation);
                return Clock.Elapsed < StartTimeout;
            })));
        await _web.StartAsync();
        Metrics = new NodeMetrics(_web.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        Load = new LoadGenerator(WebNode.BaseAddress(_web), WebNode.Path, Clock);
    }
}
