using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// <c>/healthz</c> over real HTTP: healthy while the cluster decides, degraded while windows are decided in memory or
/// skipped, unhealthy (503) while limits that fail closed can't be checked, and healthy again once the cluster is back and
/// the recent interval has passed on the fake clock.
/// </summary>
public sealed class HealthCheckTests(ITestOutputHelper output)
{
    private const string Check = "orleans-ratelimit";
    private const string Recovered = "Rate limit storage recovered";
    private const string NothingWithout = "No limit was decided without the cluster in the last 10 s.";
    private const string Unreachable = "The cluster is unreachable: limits are decided by their failure modes on this node until a probe gets an answer.";
    private const string UnreachableClosed = "The cluster is unreachable: requests under limits that fail closed are rejected with 503 until it answers again.";
    private const string Answers =
        "The cluster answers again: limits are decided by their failure modes until the next rate-limited request's probe closes the circuit.";

    // Beyond the interval of 10 s counted in whole seconds (the current one and the 10 before it).
    private static readonly TimeSpan PastInterval = TimeSpan.FromSeconds(11);
    private static readonly TimeSpan ReconnectDeadline = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task The_memory_backend_is_healthy_whatever_it_decides()
    {
        await using var app = await TestApp.StartAsync(
            Backend.Memory,
            b =>
            {
                b.Services.AddOrleansRateLimiting(o => o.Backend = RateLimitBackend.Memory);
                b.Services.AddHealthChecks().AddOrleansRateLimiting();
            },
            web =>
            {
                web.UseOrleansRateLimiting();
                web.MapGet("/limited", () => "ok").RateLimit("2/minute", l => l.FailureMode(RateLimitFailureMode.FailClosed));
                web.MapHealthChecks("/healthz");
            });

        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/limited", 3));

        Assert.Equal("200 Healthy", await HealthAsync(app.Client));
        var entry = await EntryAsync(app.Services);
        Assert.Equal("Limits are counted in this process (RateLimit:Backend is Memory).", entry.Description);
        Assert.Equal("backend=Memory", Format(entry.Data));
    }

    [Fact]
    public async Task Without_the_limiter_the_check_fails_and_says_what_is_missing()
    {
        await using var app = await TestApp.StartAsync(
            Backend.Memory,
            b => b.Services.AddHealthChecks().AddOrleansRateLimiting(),
            web => web.MapHealthChecks("/healthz"));

        Assert.Equal("503 Unhealthy", await HealthAsync(app.Client));
        var entry = await EntryAsync(app.Services);
        Assert.Equal("There is no limiter to check: call builder.Services.AddOrleansRateLimiting() as well.", entry.Description);
    }

    [Fact]
    public async Task Health_follows_the_cluster_through_an_outage_and_back()
    {
        await using var app = await HealthClientApp.StartAsync(
            _ => { },
            web =>
            {
                web.MapGet("/memory", () => "ok").RateLimit("100/minute");
                web.MapGet("/open", () => "ok").RateLimit("100/minute", l => l.FailureMode(RateLimitFailureMode.FailOpen));
                web.MapGet("/closed", () => "ok").RateLimit("100/minute", l => l.FailureMode(RateLimitFailureMode.FailClosed));
                web.MapHealthChecks("/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
            },
            checks => checks.AddOrleansRateLimiting("ready", HealthStatus.Degraded, ["ready"]));

        // The cluster decides.
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/memory", "/open", "/closed"));
        Assert.Equal("200 Healthy", await HealthAsync(app.Client));
        var entry = await EntryAsync(app.Services);
        Assert.Equal(NothingWithout, entry.Description);
        Assert.Equal(Data("closed", failedCalls: 0, inMemory: 0, failOpen: 0, failClosed: 0), Format(entry.Data));

        await app.StopSiloAsync();

        // A limit that fails closed rejects its request: unhealthy, while the circuit is still closed (one failed call of three).
        Assert.Equal("503", await StatusesAsync(app.Client, "/closed"));
        Assert.Equal("503 Unhealthy", await HealthAsync(app.Client));
        Assert.Equal("200 Degraded", await HealthAsync(app.Client, "/ready"));
        entry = await EntryAsync(app.Services);
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Equal(
            "Limits that fail closed could not be checked in the last 10 s, and rejected their requests with 503 (failed calls: 1, rejected: 1).",
            entry.Description);
        Assert.Equal(Data("closed", failedCalls: 1, inMemory: 0, failOpen: 0, failClosed: 1), Format(entry.Data));

        // Nothing decided since, beyond the interval: nothing shows the cluster is away.
        app.Clock.Advance(PastInterval);
        Assert.Equal("200 Healthy", await HealthAsync(app.Client));

        // A window counted in memory: degraded (the second failed call in a row).
        Assert.Equal("200", await StatusesAsync(app.Client, "/memory"));
        Assert.Equal("200 Degraded", await HealthAsync(app.Client));
        entry = await EntryAsync(app.Services);
        Assert.Equal(
            "Limits were decided without the cluster in the last 10 s (failed calls: 1, counted in memory: 1, skipped by fail open: 0).",
            entry.Description);

        // The third failed call opens the circuit; the limit that fails open lets its request through.
        var opened = app.Clock.GetUtcNow();
        Assert.Equal("200", await StatusesAsync(app.Client, "/open"));
        Assert.Equal("200 Degraded", await HealthAsync(app.Client));
        entry = await EntryAsync(app.Services);
        Assert.Equal(Unreachable, entry.Description);
        Assert.Equal(Data("open", failedCalls: 2, inMemory: 1, failOpen: 1, failClosed: 0, opened, answers: false), Format(entry.Data));

        // The circuit is open and a limit failed closed: unhealthy, also once the interval has passed, until the cluster answers.
        Assert.Equal("503", await StatusesAsync(app.Client, "/closed"));
        Assert.Equal("503 Unhealthy", await HealthAsync(app.Client));
        app.Clock.Advance(PastInterval);
        Assert.Equal("503 Unhealthy", await HealthAsync(app.Client));
        Assert.Equal("200 Degraded", await HealthAsync(app.Client, "/ready"));
        entry = await EntryAsync(app.Services);
        Assert.Equal(UnreachableClosed, entry.Description);
        Assert.Equal(Data("open", failedCalls: 0, inMemory: 0, failOpen: 0, failClosed: 0, opened, answers: false), Format(entry.Data));

        // The silo is back, and no request has come to probe it: the check's own ping sees it answer.
        await app.StartSiloAsync();
        await UntilAsync(app, "200 Degraded");
        entry = await EntryAsync(app.Services);
        Assert.Equal(Answers, entry.Description);
        Assert.Equal(Data("open", failedCalls: 0, inMemory: 0, failOpen: 0, failClosed: 0, opened, answers: true), Format(entry.Data));

        // A request's probe closes the circuit; that request was counted in memory, so the node stays degraded for the interval.
        await DriveProbesUntilRecoveredAsync(app);
        Assert.Equal("200 Degraded", await HealthAsync(app.Client));
        entry = await EntryAsync(app.Services);
        Assert.StartsWith("Limits were decided without the cluster in the last 10 s (failed calls: 0, counted in memory: ", entry.Description, StringComparison.Ordinal);

        app.Clock.Advance(PastInterval);
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/memory", "/open", "/closed"));
        Assert.Equal("200 Healthy", await HealthAsync(app.Client));
        Assert.Equal("200 Healthy", await HealthAsync(app.Client, "/ready"));
        entry = await EntryAsync(app.Services);
        Assert.Equal(NothingWithout, entry.Description);
        Assert.Equal(Data("closed", failedCalls: 0, inMemory: 0, failOpen: 0, failClosed: 0), Format(entry.Data));
        Assert.Single(app.Logs.Messages(LogLevel.Information), Recovered);
    }

    /// <summary>Probes run on requests once due: move the clock to the next one and ask, boundedly, until one got an answer.</summary>
    private async Task DriveProbesUntilRecoveredAsync(HealthClientApp app)
    {
        var clock = Stopwatch.StartNew();
        while (!app.Logs.Messages(LogLevel.Information).Contains(Recovered))
        {
            Assert.True(clock.Elapsed < ReconnectDeadline, $"No recovery within {ReconnectDeadline}.");
            app.Clock.Advance(TimeSpan.FromSeconds(32));
            Assert.Equal("200", await StatusesAsync(app.Client, "/memory"));
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        output.WriteLine($"recovered {clock.Elapsed.TotalSeconds:0.0} s after the check saw the cluster answer");
    }

    /// <summary>Asks <c>/healthz</c>, boundedly, until it answers <paramref name="expected"/>, e.g. while the client reconnects.</summary>
    private async Task UntilAsync(HealthClientApp app, string expected)
    {
        var clock = Stopwatch.StartNew();
        string seen;
        while ((seen = await HealthAsync(app.Client)) != expected)
        {
            Assert.True(clock.Elapsed < ReconnectDeadline, $"/healthz still answers '{seen}' after {ReconnectDeadline}.");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        output.WriteLine($"/healthz answered '{expected}' {clock.Elapsed.TotalSeconds:0.0} s after the silo started");
    }

    private static string Data(
        string circuit, long failedCalls, long inMemory, long failOpen, long failClosed, DateTimeOffset? openSince = null, bool? answers = null)
    {
        var data = new Dictionary<string, object>
        {
            ["backend"] = "Orleans",
            ["circuit"] = circuit,
            ["interval_seconds"] = 10,
            ["failed_calls"] = failedCalls,
            ["decided_in_memory"] = inMemory,
            ["decided_fail_open"] = failOpen,
            ["decided_fail_closed"] = failClosed,
        };
        if (openSince is { } since)
        {
            data["circuit_open_since"] = since;
        }

        if (answers is { } answered)
        {
            data["cluster_answers"] = answered;
        }

        return Format(data);
    }

    /// <summary>Data entries as <c>name=value</c> by name, values with their types' invariant text, e.g. dates round-trip.</summary>
    private static string Format(IReadOnlyDictionary<string, object> data) => string.Join(", ", data
        .OrderBy(entry => entry.Key, StringComparer.Ordinal)
        .Select(entry => $"{entry.Key}={entry.Value switch
        {
            DateTimeOffset time => time.ToString("O", CultureInfo.InvariantCulture),
            IFormattable value => value.GetType().Name + ":" + value.ToString(null, CultureInfo.InvariantCulture),
            var value => value,
        }}"));

    private static async Task<HealthReportEntry> EntryAsync(IServiceProvider services)
    {
        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(check => check.Name == Check);
        return report.Entries[Check];
    }

    private static async Task<string> HealthAsync(HttpClient client, string path = "/healthz")
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
    }

    private static async Task<string> StatusesAsync(HttpClient client, string path, int times)
    {
        var paths = Enumerable.Repeat(path, times).ToArray();
        return await StatusesAsync(client, paths);
    }

    private static async Task<string> StatusesAsync(HttpClient client, params string[] paths)
    {
        var statuses = new List<int>();
        foreach (var path in paths)
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            statuses.Add((int)response.StatusCode);
        }

        return string.Join(' ', statuses);
    }
}
