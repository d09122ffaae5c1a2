using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>One web node of a <see cref="TestApp"/>: a real Kestrel server on 127.0.0.1, optionally with an embedded silo.</summary>
internal static class TestNode
{
    /// <summary>The silo's own endpoints and the primary silo every node joins through.</summary>
    internal sealed record SiloPorts(int SiloPort, int GatewayPort, IPEndPoint Primary, string ClusterName);

    public static WebApplication Build(
        FakeTimeProvider clock,
        TestLogSink logs,
        SiloPorts? silo,
        Action<WebApplicationBuilder>? configureBuilder,
        Action<WebApplication> configureApp)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            // The test assembly, not testhost, so that controllers declared in tests are discovered.
            ApplicationName = typeof(TestNode).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            // Production: no developer exception page hiding what the adapter itself answers on errors.
            EnvironmentName = Environments.Production,
            // No file watchers: they cost start time and inotify instances, and nothing here changes configuration.
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });

        // Scope mistakes in the adapter should fail tests as they would fail a Development app.
        builder.Host.UseDefaultServiceProvider(provider => provider.ValidateScopes = true);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        ConfigureLogging(builder.Logging, logs);

        if (silo is not null)
        {
            builder.UseOrleans(orleans => ConfigureSilo(orleans, silo));
        }

        configureBuilder?.Invoke(builder);

        // After the test's configuration and Orleans' defaults, so that the fake clock is the TimeProvider resolved.
        if (silo is null)
        {
            builder.Services.AddSingleton<TimeProvider>(clock);
        }
        else
        {
            GrainClock.UseFakeClockForGrains(builder.Services, clock);
        }

        var app = builder.Build();
        configureApp(app);
        return app;
    }

    /// <summary>The base address Kestrel bound, with a trailing slash; valid once the node has started.</summary>
    public static Uri BaseAddress(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var address = addresses?.SingleOrDefault()
            ?? throw new InvalidOperationException("Kestrel reported no single bound address.");
        return new Uri(address.TrimEnd('/') + "/");
    }

    public static void ConfigureLogging(ILoggingBuilder logging, TestLogSink logs)
    {
        logging.ClearProviders();
        logging.AddProvider(logs);
        logging.SetMinimumLevel(LogLevel.Debug);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("System", LogLevel.Warning);
        logging.AddFilter("Orleans", LogLevel.Warning);
        logging.AddFilter("Orleans.RateLimit", LogLevel.Debug);

        // Orleans' grain placement logs through Polly, three records per placement: noise that the sink would keep.
        logging.AddFilter("Polly", LogLevel.Warning);
    }

    private static void ConfigureSilo(ISiloBuilder silo, SiloPorts ports)
    {
        silo.UseLocalhostClustering(ports.SiloPort, ports.GatewayPort, ports.Primary, ports.ClusterName, ports.ClusterName);
        silo.AddRateLimitGrains();
    }
}
