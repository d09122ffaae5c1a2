using System.Globalization;
using Orleans.RateLimit.Resilience.Tests.Infrastructure;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.Resilience.Tests.Scenarios;

/// <summary>
/// The sample web app as its own process, with its embedded silo: <c>/healthz</c> reports the limiter healthy, and no limit
/// applies to it, not even the meta limit that blocks a client everywhere else.
/// </summary>
public sealed class SampleHealthTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task The_sample_reports_healthy_at_healthz_and_never_limits_it()
    {
        var ports = LoopbackPorts.Take(2);
        using var sample = NodeProcess.Start("sample web app", BuildOutput.WebAppDirectory, BuildOutput.WebAppAssembly, new Dictionary<string, string>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["RateLimitSilo__SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["RateLimitSilo__GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
        });
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        await Wait.UntilAsync(
            () =>
            {
                if (sample.HasExited)
                {
                    throw new InvalidOperationException($"The sample exited.{Environment.NewLine}{sample.RecentOutput()}");
                }

                if (sample.ListeningPort() is { } port)
                {
                    http.BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
                    return Task.FromResult(true);
                }

                return Task.FromResult(false);
            },
            StartTimeout,
            "the sample to listen",
            sample.RecentOutput);

        // The default limit (10/minute) lets ten through; three 429s within 5 minutes are a meta breach (3/5 minutes).
        Assert.Equal(Repeat(200, 10) + " 429 429 429", await StatusesAsync(http, "/hello", 13));

        // The client is now blocked everywhere, even at an endpoint it has not asked before, except at /healthz.
        Assert.Equal("429", await StatusesAsync(http, "/slow", 1));

        Assert.Equal(string.Join(' ', Enumerable.Repeat("200 Healthy", 12)), await HealthAsync(http, 12));
    }

    private static string Repeat(int status, int times) => string.Join(' ', Enumerable.Repeat(status, times));

    private static async Task<string> StatusesAsync(HttpClient http, string path, int times)
    {
        var statuses = new List<int>();
        for (var i = 0; i < times; i++)
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            statuses.Add((int)response.StatusCode);
        }

        return string.Join(' ', statuses);
    }

    private static async Task<string> HealthAsync(HttpClient http, int times)
    {
        var answers = new List<string>();
        for (var i = 0; i < times; i++)
        {
            using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
            answers.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return string.Join(' ', answers);
    }
}
