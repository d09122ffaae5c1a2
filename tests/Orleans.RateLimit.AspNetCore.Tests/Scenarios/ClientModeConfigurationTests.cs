using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// <c>RateLimitSilo:Mode=Client</c>: a web app configured only through the <c>RateLimitSilo</c> section hosts no silo and
/// has its limits counted by a separate silo, which a host in the test process runs as the standalone silo host would
/// (<c>UseOrleansRateLimitSilo</c> from configuration). Real Kestrel, real time.
/// </summary>
public sealed class ClientModeConfigurationTests
{
    private const string Limit = "2/minute";
    private const string Endpoint = "limited";

    [Fact]
    public async Task A_client_mode_web_app_reaches_a_localhost_silo_through_its_gateway_and_the_silo_counts()
    {
        var cluster = "client-mode-" + Guid.NewGuid().ToString("N");
        var (silo, gatewayPort) = await LoopbackPorts.StartAsync(2, async ports => (await StartSiloAsync(new()
        {
            ["SiloPort"] = Text(ports[0]),
            ["GatewayPort"] = Text(ports[1]),
            ["ClusterId"] = cluster,
            ["ServiceId"] = cluster,
        }), ports[1]));
        try
        {
            await AssertCountedBySiloAsync(silo, new()
            {
                ["Mode"] = "Client",
                ["GatewayPort"] = Text(gatewayPort),
                ["ClusterId"] = cluster,
                ["ServiceId"] = cluster,
            });
        }
        finally
        {
            await StopAsync(silo);
        }
    }

    [Fact]
    public async Task A_client_mode_web_app_finds_silos_through_redis_clustering_and_the_silo_counts()
    {
        using var redis = new RedisProcess();
        await redis.StartAsync();
        var cluster = "client-mode-" + Guid.NewGuid().ToString("N");
        var silo = await LoopbackPorts.StartAsync(2, ports => StartSiloAsync(new()
        {
            ["Clustering"] = "Redis",
            ["Redis"] = redis.ConnectionString,
            ["SiloPort"] = Text(ports[0]),
            ["GatewayPort"] = Text(ports[1]),
            ["ClusterId"] = cluster,
            ["ServiceId"] = cluster,
        }));
        try
        {
            // No gateway port: the client reads the silos' gateways from Redis.
            await AssertCountedBySiloAsync(silo, new()
            {
                ["Mode"] = "client",
                ["Clustering"] = "Redis",
                ["Redis"] = redis.ConnectionString,
                ["ClusterId"] = cluster,
                ["ServiceId"] = cluster,
            });
        }
        finally
        {
            await StopAsync(silo);
        }
    }

    private static async Task AssertCountedBySiloAsync(IHost silo, Dictionary<string, string?> siloSection)
    {
        var web = await StartWebAppAsync(siloSection);
        try
        {
            await AssertRequestsCountedBySiloAsync(silo, web);
        }
        finally
        {
            await web.StopAsync();
            await web.DisposeAsync();
        }
    }

    private static async Task AssertRequestsCountedBySiloAsync(IHost silo, WebApplication web)
    {
        Assert.Null(web.Services.GetService<Orleans.Runtime.ILocalSiloDetails>());
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = TestNode.BaseAddress(web) };

        var first = await SendAsync(client);
        var second = await SendAsync(client);
        var third = await SendAsync(client);

        Assert.Equal((200, "2", "1"), (first.Status, first.Limit, first.Remaining));
        Assert.Equal((200, "2", "0"), (second.Status, second.Limit, second.Remaining));
        Assert.Equal((429, "2", "0"), (third.Status, third.Limit, third.Remaining));
        Assert.InRange(int.Parse(third.RetryAfter!, CultureInfo.InvariantCulture), 1, 60);

        // The window is the silo's: read there, without counting, it has nothing left.
        var window = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse(Limit), Endpoint, "alice");
        Assert.Equal(0, (await silo.Services.GetRequiredService<IGrainFactory>().StatsAsync(window)).Remaining);
    }

    private static async Task<Answer> SendAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "t");
        request.Headers.Add("X-Key", "alice");
        using var response = await client.SendAsync(request);
        return new Answer(
            (int)response.StatusCode,
            Header(response, "X-RateLimit-Limit"),
            Header(response, "X-RateLimit-Remaining"),
            Header(response, "Retry-After"));
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private static async Task<IHost> StartSiloAsync(Dictionary<string, string?> siloSection)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = Environments.Production });
        builder.Configuration.AddInMemoryCollection(siloSection.ToDictionary(s => "RateLimitSilo:" + s.Key, s => s.Value));
        builder.UseOrleansRateLimitSilo();
        return await builder.Build().StartOrDisposeAsync();
    }

    private static async Task<WebApplication> StartWebAppAsync(Dictionary<string, string?> siloSection)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(ClientModeConfigurationTests).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Configuration.Sources.Clear();
        var settings = siloSection.ToDictionary(s => "RateLimitSilo:" + s.Key, s => s.Value);
        settings["RateLimit:DefaultLimits"] = Limit;
        settings["RateLimit:KeyHeader"] = "X-Key";
        settings["RateLimit:HeadersEnabled"] = "true";

        // Every decision is the cluster's: a call that fails is a 503, not a count in this process, and no budget is leased.
        settings["RateLimit:FailureMode"] = "FailClosed";
        settings["RateLimit:Leasing"] = "Never";
        settings["RateLimit:GrainCallTimeout"] = "00:00:05";
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.UseOrleansRateLimitSilo();
        builder.Services.AddOrleansRateLimiting();

        var app = builder.Build();
        app.UseOrleansRateLimiting();
        app.MapGet("/t", () => Results.Text("t")).WithName(Endpoint);
        try
        {
            await app.StartAsync();
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    private static async Task StopAsync(IHost host)
    {
        await host.StopAsync();
        host.Dispose();
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);

    private sealed record Answer(int Status, string? Limit, string? Remaining, string? RetryAfter);
}
