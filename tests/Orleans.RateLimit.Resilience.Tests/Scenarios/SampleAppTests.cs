using System.Globalization;
using Orleans.RateLimit.Resilience.Tests.Infrastructure;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.Resilience.Tests.Scenarios;

/// <summary>
/// The sample web app as shipped, run as its own process: it listens where <c>ASPNETCORE_URLS</c> says, shows the limiter's
/// own log lines, and with <c>RateLimitSilo__Mode=Client</c> is a client of the standalone silo host, so that several
/// copies share one count. Every sample here fails closed, waits up to 5 s for a grain call and leases no budget, so that
/// every decision is the cluster's and is exact.
/// </summary>
public sealed class SampleAppTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_sample_listens_where_ASPNETCORE_URLS_says_and_logs_its_breaches()
    {
        var ports = LoopbackPorts.Take(3);
        var cluster = "sample-" + Guid.NewGuid().ToString("N");
        using var sample = StartSample(ports[0], new Dictionary<string, string>
        {
            ["RateLimitSilo__SiloPort"] = Text(ports[1]),
            ["RateLimitSilo__GatewayPort"] = Text(ports[2]),
            ["RateLimitSilo__ServiceId"] = cluster,
            ["RateLimitSilo__ClusterId"] = cluster,
        });
        await Wait.ForPortAsync(ports[0], sample, StartTimeout);
        using var http = Client(ports[0]);

        var answers = await HelloAsync(http, 11);

        Assert.Equal([.. Enumerable.Repeat("200", 10), "429"], answers.Select(a => a.Status));
        Assert.Equal(["9", "8", "7", "6", "5", "4", "3", "2", "1", "0", "0"], answers.Select(a => a.Remaining));
        Assert.Contains($"Now listening on: http://127.0.0.1:{Text(ports[0])}", sample.RecentOutput(), StringComparison.Ordinal);

        // The breach log of the limiter (Information): shown although Orleans' own categories are filtered to warnings.
        await Wait.UntilAsync(
            () => Task.FromResult(sample.RecentOutput().Contains("ratelimit 10 per 1 minute (127.0.0.1) exceeded at endpoint: /hello", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10),
            "the sample's breach log line",
            sample.RecentOutput);
    }

    [Fact]
    public async Task Samples_in_client_mode_share_the_counts_of_the_standalone_silo()
    {
        var ports = LoopbackPorts.Take(4);
        var (siloPort, gatewayPort) = (ports[0], ports[1]);
        var cluster = "sample-client-" + Guid.NewGuid().ToString("N");
        using var silo = NodeProcess.Start("silo", BuildOutput.SiloHostDirectory, BuildOutput.SiloHostAssembly, new Dictionary<string, string>
        {
            ["RateLimitSilo__SiloPort"] = Text(siloPort),
            ["RateLimitSilo__GatewayPort"] = Text(gatewayPort),
            ["RateLimitSilo__ServiceId"] = cluster,
            ["RateLimitSilo__ClusterId"] = cluster,
        });
        await Wait.ForPortAsync(gatewayPort, silo, StartTimeout);

        // Only the client's keys: a silo key such as SiloPort would fail the start in client mode.
        var client = new Dictionary<string, string>
        {
            ["RateLimitSilo__Mode"] = "Client",
            ["RateLimitSilo__GatewayPort"] = Text(gatewayPort),
            ["RateLimitSilo__ServiceId"] = cluster,
            ["RateLimitSilo__ClusterId"] = cluster,
        };
        using var first = StartSample(ports[2], client);
        using var second = StartSample(ports[3], client);
        await Wait.ForPortAsync(ports[2], first, StartTimeout);
        await Wait.ForPortAsync(ports[3], second, StartTimeout);
        using var firstHttp = Client(ports[2]);
        using var secondHttp = Client(ports[3]);

        var onFirst = await HelloAsync(firstHttp, 5);
        var onSecond = await HelloAsync(secondHttp, 5);
        var breach = await HelloAsync(firstHttp, 1);

        // One window of 10 per minute for both copies: the second goes on where the first stopped.
        Assert.Equal(["200 9", "200 8", "200 7", "200 6", "200 5"], onFirst.Select(a => $"{a.Status} {a.Remaining}"));
        Assert.Equal(["200 4", "200 3", "200 2", "200 1", "200 0"], onSecond.Select(a => $"{a.Status} {a.Remaining}"));
        Assert.Equal(["429 0"], breach.Select(a => $"{a.Status} {a.Remaining}"));
        Assert.False(silo.HasExited, silo.RecentOutput());
    }

    private static NodeProcess StartSample(int httpPort, IReadOnlyDictionary<string, string> settings)
    {
        var environment = new Dictionary<string, string>(settings)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Text(httpPort)}",
            ["RateLimit__FailureMode"] = "FailClosed",
            ["RateLimit__GrainCallTimeout"] = "00:00:05",
            ["RateLimit__Leasing"] = "Never",
        };
        return NodeProcess.Start($"sample on port {Text(httpPort)}", BuildOutput.WebAppDirectory, BuildOutput.WebAppAssembly, environment);
    }

    private static HttpClient Client(int port) => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = new Uri($"http://127.0.0.1:{Text(port)}/"),
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>The status and <c>X-RateLimit-Remaining</c> of <paramref name="times"/> requests to <c>/hello</c>, one after another.</summary>
    private static async Task<List<(string Status, string? Remaining)>> HelloAsync(HttpClient http, int times)
    {
        var answers = new List<(string, string?)>();
        for (var i = 0; i < times; i++)
        {
            using var response = await http.GetAsync(new Uri("hello", UriKind.Relative));
            var remaining = response.Headers.TryGetValues("X-RateLimit-Remaining", out var values) ? string.Join(",", values) : null;
            answers.Add((((int)response.StatusCode).ToString(CultureInfo.InvariantCulture), remaining));
        }

        return answers;
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
