using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;
using Xunit.Abstractions;

namespace Orleans.RateLimit.AspNetCore.Tests;

public sealed class TestAppTests(ITestOutputHelper output)
{
    private static readonly Action<ILogger, int, Exception?> Served =
        LoggerMessage.Define<int>(LogLevel.Warning, new EventId(1, "Served"), "served by {Port}");

    [Theory]
    [InlineData(Backend.Memory)]
    [InlineData(Backend.Grains)]
    public async Task Every_node_serves_http_on_the_fake_clock(Backend backend)
    {
        var started = Stopwatch.StartNew();
        var app = await TestApp.StartAsync(backend, null, web => web.MapGet("/now", (TimeProvider time) => time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)));
        output.WriteLine($"{backend}: StartAsync {started.ElapsedMilliseconds} ms");
        try
        {
            Assert.Equal(backend == Backend.Memory ? 1 : 2, app.Nodes.Count);
            Assert.Same(app.Nodes[0], app.Client);
            Assert.Same(app.Clock, app.Services.GetRequiredService<TimeProvider>());
            foreach (var node in app.Nodes)
            {
                Assert.Equal("127.0.0.1", node.BaseAddress!.Host);
                Assert.Equal(TestApp.Start, await NowAsync(node));
            }

            app.Clock.Advance(TimeSpan.FromMinutes(1));

            foreach (var node in app.Nodes)
            {
                Assert.Equal(TestApp.Start.AddMinutes(1), await NowAsync(node));
            }

            if (backend == Backend.Grains)
            {
                Assert.Equal(2, await HitsAllowedAcrossNodesAsync(app));
            }
        }
        finally
        {
            var stopping = Stopwatch.StartNew();
            await app.DisposeAsync();
            output.WriteLine($"{backend}: DisposeAsync {stopping.ElapsedMilliseconds} ms");
        }
    }

    [Fact]
    public async Task The_log_sink_sees_every_node()
    {
        await using var app = await TestApp.StartAsync(Backend.Grains, null, web => web.MapGet("/log", (HttpContext context, ILoggerFactory loggers) =>
        {
            Served(loggers.CreateLogger("Tests.Endpoint"), context.Connection.LocalPort, null);
            return "ok";
        }));

        foreach (var node in app.Nodes)
        {
            Assert.Equal("ok", await node.GetStringAsync(new Uri("log", UriKind.Relative)));
        }

        var ports = app.Nodes.Select(node => "served by " + node.BaseAddress!.Port.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(ports, app.Logs.Messages(LogLevel.Warning).Where(message => message.StartsWith("served by", StringComparison.Ordinal)));
    }

    /// <summary>Three hits on one 2/minute window, alternating the node they start from.</summary>
    private static async Task<int> HitsAllowedAcrossNodesAsync(TestApp app)
    {
        var key = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("2/minute"), "s", "k");
        var allowed = 0;
        for (var i = 0; i < 3; i++)
        {
            var grains = app.ServicesOf(i % 2).GetRequiredService<IGrainFactory>();
            if ((await grains.HitAsync(key)).Allowed)
            {
                allowed++;
            }
        }

        return allowed;
    }

    private static async Task<DateTimeOffset> NowAsync(HttpClient node) =>
        DateTimeOffset.Parse(await node.GetStringAsync(new Uri("now", UriKind.Relative)), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
