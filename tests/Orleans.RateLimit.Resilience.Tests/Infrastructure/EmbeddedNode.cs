using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// A web node in the test process with an embedded silo configured as a deployment would configure it: by
/// <c>builder.UseOrleansRateLimitSilo()</c> from the "RateLimitSilo" section. Its limit is a default limit keyed by
/// <see cref="LoadGenerator.KeyHeader"/>, with the in-memory fallback on.
/// </summary>
internal sealed class EmbeddedNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmbeddedNode(WebApplication app, CapturedLogs logs, Stopwatch clock)
    {
        _app = app;
        Logs = logs;
        Clock = clock;
        Metrics = new NodeMetrics(app.Services.GetRequiredService<IMeterFactory>());
        Load = new LoadGenerator(WebNode.BaseAddress(app), WebNode.Path, clock);
    }

    public Stopwatch Clock { get; }

    public CapturedLogs Logs { get; }

    public NodeMetrics Metrics { get; }

    public LoadGenerator Load { get; }

    public IGrainFactory Grains => _app.Services.GetRequiredService<IGrainFactory>();

    public IServiceProvider Services => _app.Services;

    /// <summary>When the warm-up ended; the circuit's log records and the metrics count from here.</summary>
    public TimeSpan WarmedUpAt { get; private set; }

    /// <param name="silo">The "RateLimitSilo" settings, keys without the section name (e.g. <c>Clustering</c>, <c>Grains:MaxFlushInterval</c>).</param>
    /// <param name="configureSilo">Settings beyond what the section offers, e.g. membership timings.</param>
    public static async Task<EmbeddedNode> StartAsync(Stopwatch clock, string limit, IReadOnlyDictionary<string, string> silo, Action<ISiloBuilder>? configureSilo = null)
    {
        ThreadPoolCapacity.Ensure();
        var logs = new CapturedLogs(clock);
        var settings = new Dictionary<string, string?>
        {
            ["RateLimit:DefaultLimits"] = limit,
            ["RateLimit:KeyHeader"] = LoadGenerator.KeyHeader,
            ["RateLimit:HeadersEnabled"] = "true",

            // Otherwise the options as shipped: the in-memory fallback on, the circuit opening after a second of failures.
            ["RateLimit:GrainCallTimeout"] = "00:00:00.050",
        };
        foreach (var (key, value) in silo)
        {
            settings["RateLimitSilo:" + key] = value;
        }

        var app = WebNode.Build(settings, logs, builder =>
        {
            builder.UseOrleansRateLimitSilo();
            if (configureSilo is not null)
            {
                builder.UseOrleans(configureSilo);
            }
        });
        try
        {
            await app.StartAsync();
            return new EmbeddedNode(app, logs, clock);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Past the first calls of the fresh process (see <see cref="WarmUp"/>): a grain call made directly, then requests until
    /// one is decided by its grain. Returns how often the circuit opened meanwhile.
    /// </summary>
    public async Task<long> WarmUpAsync(string limit)
    {
        var openings = await WarmUp.PastFirstCallsAsync(Grains, limit, Load, Metrics);
        WarmedUpAt = Clock.Elapsed;
        return openings;
    }

    public async ValueTask DisposeAsync()
    {
        Load.Dispose();
        Metrics.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
