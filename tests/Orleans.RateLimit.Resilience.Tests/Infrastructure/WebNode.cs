using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// A web node in the test process: real Kestrel on 127.0.0.1, the limiter configured from the "RateLimit" section of
/// <c>settings</c> only (no appsettings.json, no environment variables), and one limited endpoint.
/// </summary>
internal static class WebNode
{
    public const string Path = "/limited";

    /// <summary>The endpoint's name, and so the scope of the default limits' windows.</summary>
    public const string EndpointName = "limited";

    public static WebApplication Build(IReadOnlyDictionary<string, string?> settings, CapturedLogs logs, Action<WebApplicationBuilder> addOrleans)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(WebNode).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(10));

        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System", LogLevel.Warning);
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.Logging.AddFilter("Orleans.RateLimit", LogLevel.Debug);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);

        addOrleans(builder);
        builder.Services.AddOrleansRateLimiting();

        var app = builder.Build();
        app.Use(ReportServerTime);
        app.UseOrleansRateLimiting();
        app.MapGet(Path, () => Results.Text("ok\n")).WithName(EndpointName);
        return app;
    }

    /// <summary>
    /// Tells the client how long the node took until its response started (the limiter's decision and the endpoint) in a
    /// <c>Server-Timing</c> header, so a slow answer can be told apart from a slow client or connection.
    /// </summary>
    private static Task ReportServerTime(HttpContext context, RequestDelegate next)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        context.Response.OnStarting(() =>
        {
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            context.Response.Headers["Server-Timing"] = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"node;dur={elapsed.TotalMilliseconds:0.###}");
            return Task.CompletedTask;
        });
        return next(context);
    }

    /// <summary>The address Kestrel bound, with a trailing slash; valid once the node has started.</summary>
    public static Uri BaseAddress(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var address = addresses?.SingleOrDefault() ?? throw new InvalidOperationException("Kestrel reported no single bound address.");
        return new Uri(address.TrimEnd('/') + "/");
    }

    /// <summary>The window the endpoint's default limit <paramref name="limit"/> counts <paramref name="key"/> in.</summary>
    public static RateLimitWindowKey Window(string limit, string key) =>
        new(RateLimitStrategy.FixedWindow, RateLimitItem.Parse(limit), EndpointName, key);

    /// <summary>What the owner of the window of <paramref name="key"/> has counted, read through <paramref name="grains"/> without counting.</summary>
    public static async Task<long> CountOnGrainAsync(IGrainFactory grains, string limit, string key)
    {
        var stats = await grains.StatsAsync(Window(limit, key));
        return RateLimitItem.Parse(limit).Amount - stats.Remaining;
    }
}
