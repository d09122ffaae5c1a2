using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Testing;
using Xunit.Abstractions;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// A web node that is an Orleans client loses its only silo, or the silo turns slow: with the default options requests are
/// limited in memory, never failed; each failure mode, the fallback with and without its own limits, the original's 500 and
/// swallowed errors when the fallback is turned off, and the switch back once the silo returns.
/// </summary>
public sealed class ClientModeFallbackTests(ITestOutputHelper output)
{
    private const string FallbackWarning = "Rate limit storage unreachable - falling back to in-memory storage";
    private const string Recovered = "Rate limit storage recovered";

    // Far beyond any decision made without the cluster, far below Orleans' own 30 s response timeout.
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task With_default_options_an_unreachable_cluster_is_limited_in_memory_not_failed()
    {
        await using var app = await ClientModeApp.StartWithDefaultOptionsAsync(MapLimited);
        using var counts = new RequestCounts(app.Services);
        await app.StopSiloAsync();

        // Only a window counted in this process can refuse the fourth request: the silo is gone.
        Assert.Equal("200 200 200 429", await StatusesAsync(app, "/limited", 4));
        Assert.Contains("\"detail\":\"3 per 1 minute\"", await BodyAsync(app, "/limited"), StringComparison.Ordinal);
        Assert.Equal(new Dictionary<string, long> { ["result=allowed path=fallback"] = 3, ["result=limited path=fallback"] = 2 }, counts.Totals);
    }

    [Fact]
    public async Task With_default_options_a_slow_cluster_is_limited_in_memory_not_failed()
    {
        var slow = new SlowPartitions(TimeSpan.FromSeconds(1));
        await using var app = await ClientModeApp.StartWithDefaultOptionsAsync(MapLimited, slow.AddTo);
        using var counts = new RequestCounts(app.Services);
        slow.Enabled = true;

        // Every call outlasts the 50 ms GrainCallTimeout; an answer waited for would take a second, beyond the bound.
        Assert.Equal("200 200 200 429", await StatusesAsync(app, "/limited", 4));
        Assert.True(slow.Delayed >= 1, "No call reached a slow partition.");
        Assert.Equal(new Dictionary<string, long> { ["result=allowed path=fallback"] = 3, ["result=limited path=fallback"] = 1 }, counts.Totals);
    }

    [Fact]
    public async Task Without_fallback_an_unreachable_cluster_answers_500_at_once()
    {
        await using var app = await ClientModeApp.StartAsync(o => o.InMemoryFallbackEnabled = false, MapLimited);
        Assert.Equal("200", await StatusesAsync(app, "/limited", 1));

        await app.StopSiloAsync();

        Assert.Equal("500 500 500", await StatusesAsync(app, "/limited", 3));
        Assert.Single(app.Logs.Messages(LogLevel.Warning), "Rate limit storage unreachable - limits fail by their failure mode until it recovers");
    }

    [Fact]
    public async Task SwallowErrors_lets_requests_through_and_logs_the_error()
    {
        await using var app = await ClientModeApp.StartAsync(
            o =>
            {
                o.InMemoryFallbackEnabled = false;
                o.SwallowErrors = true;
            },
            MapLimited);
        await app.StopSiloAsync();

        Assert.Equal("200 200 200 200 200", await StatusesAsync(app, "/limited", 5));
        var swallowed = app.Logs.Records.Where(r => r.Message == "Failed to rate limit. Swallowing error").ToList();
        Assert.Equal(5, swallowed.Count);
        Assert.All(swallowed, r => Assert.IsType<RateLimitStorageUnavailableException>(r.Exception));
    }

    [Fact]
    public async Task Fallback_counts_the_same_limits_in_memory_then_returns_to_the_grains_after_a_probe()
    {
        await using var app = await ClientModeApp.StartAsync(
            o =>
            {
                o.InMemoryFallbackEnabled = true;
                o.HeadersEnabled = true;
            },
            MapLimited);
        Assert.Equal("200 200", await StatusesAsync(app, "/limited", 2));

        await app.StopSiloAsync();

        // The memory window starts from the owner's count of two: one more request fits.
        Assert.Equal("200 429 429 429", await StatusesAsync(app, "/limited", 4));
        Assert.Single(app.Logs.Messages(LogLevel.Warning), FallbackWarning);
        Assert.DoesNotContain(Recovered, app.Logs.Messages(LogLevel.Information));

        await app.StartSiloAsync();
        await DriveProbesUntilRecoveredAsync(app);

        // The restarted silo kept no state, so the grains start a fresh window where the memory one is spent.
        using var response = await app.Client.GetAsync(new Uri("/limited", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("2", Header(response, "X-RateLimit-Remaining"));
        Assert.Single(app.Logs.Messages(LogLevel.Warning), FallbackWarning);
        Assert.Single(app.Logs.Messages(LogLevel.Information), Recovered);
    }

    [Fact]
    public async Task A_failover_continues_from_the_owners_count_and_hands_the_hits_admitted_in_memory_back_to_the_owner()
    {
        using var redis = new RedisProcess();
        await redis.StartAsync();
        await using var app = await ClientModeApp.StartAsync(
            o =>
            {
                o.InMemoryFallbackEnabled = true;
                o.HeadersEnabled = true;
            },
            web =>
            {
                web.MapGet("/five", () => "ok").RateLimit("5/minute", l => l.Leasing(RateLimitLeasing.Never));
                web.MapGet("/probe", () => "ok").RateLimit("1000/minute", l => l.Leasing(RateLimitLeasing.Never));
            },
            grains => grains.RedisConnectionString = redis.ConnectionString);
        using var fallbackHits = new RequestCounts(app.Services, "orleans_ratelimit.fallback.hits");
        using var requests = new RequestCounts(app.Services);
        Assert.Equal("200 200 200", await StatusesAsync(app, "/five", 3));

        // The silo stops gracefully, writing the window's 3 hits to Redis; the memory window starts from them, not from zero.
        await app.StopSiloAsync();
        Assert.Equal("200 200 429", await StatusesAsync(app, "/five", 3));

        // Back, the owner reads its 3 hits from Redis, and the 2 admitted in memory are handed to it once it answers: the
        // window is spent, although the owner itself admitted only 3.
        await app.StartSiloAsync();
        await DriveProbesUntilRecoveredAsync(app);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("200", await StatusesAsync(app, "/probe", 1));
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        using var response = await app.Client.GetAsync(new Uri("/five", UriKind.Relative));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("0", Header(response, "X-RateLimit-Remaining"));
        // Every hit admitted in memory (those of /five, and of the probing requests meanwhile) was handed over, none lost.
        var admittedInMemory = requests.Totals["result=allowed path=fallback"];
        Assert.InRange(admittedInMemory, 2, 1000);
        Assert.Equal(new Dictionary<string, long> { ["outcome=handed_over"] = admittedInMemory }, fallbackHits.Totals);
    }

    [Fact]
    public async Task While_the_circuit_is_open_a_node_spends_its_budget_then_counts_on_from_the_owners_count()
    {
        await using var app = await ClientModeApp.StartAsync(
            o =>
            {
                o.InMemoryFallbackEnabled = true;
                o.HeadersEnabled = true;
            },
            web =>
            {
                web.MapGet("/hot", () => "ok").RateLimit("100/minute", l => l.Leasing(RateLimitLeasing.Always));
                web.MapGet("/cold", () => "ok").RateLimit("100/minute", l => l.Leasing(RateLimitLeasing.Never));
            });
        using var counts = new RequestCounts(app.Services);

        // The first hit is the owner's, and brings a first budget of 8: the owner has counted 9.
        Assert.Equal("99", await RemainingAsync(app, "/hot"));
        await app.StopSiloAsync();
        Assert.Equal("200 200 200", await StatusesAsync(app, "/cold", 3));
        Assert.Single(app.Logs.Messages(LogLevel.Warning), FallbackWarning);

        // The budget is spent without a call, then the memory window goes on from the owner's 9.
        var remaining = new List<string?>();
        for (var i = 0; i < 10; i++)
        {
            remaining.Add(await RemainingAsync(app, "/hot"));
        }

        Assert.Equal(["98", "97", "96", "95", "94", "93", "92", "91", "90", "89"], remaining);
        Assert.Equal(8, counts.Totals.GetValueOrDefault("result=allowed path=leased"));
    }

    private static async Task<string?> RemainingAsync(ClientModeApp app, string path)
    {
        using var response = await app.Client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Header(response, "X-RateLimit-Remaining");
    }

    [Fact]
    public async Task Fallback_limits_replace_the_endpoint_limits_while_the_cluster_is_unreachable()
    {
        await using var app = await ClientModeApp.StartAsync(
            o => o.InMemoryFallback.Add("2/minute"),
            web => web.MapGet("/limited", () => "ok").RateLimit("5/minute"));
        Assert.Equal("200 200 200", await StatusesAsync(app, "/limited", 3));

        await app.StopSiloAsync();

        using var first = await app.Client.GetAsync(new Uri("/limited", UriKind.Relative));
        using var second = await app.Client.GetAsync(new Uri("/limited", UriKind.Relative));
        using var third = await app.Client.GetAsync(new Uri("/limited", UriKind.Relative));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], [first.StatusCode, second.StatusCode, third.StatusCode]);
        Assert.Contains("\"detail\":\"2 per 1 minute\"", await third.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(app.Logs.Messages(LogLevel.Warning), FallbackWarning);
    }

    [Fact]
    public async Task Each_limit_fails_by_its_own_mode()
    {
        await using var app = await ClientModeApp.StartAsync(
            o => o.InMemoryFallbackEnabled = true,
            web =>
            {
                web.MapGet("/memory", () => "ok").RateLimit("2/minute");
                web.MapGet("/open", () => "ok").RateLimit("2/minute", l => l.FailureMode(RateLimitFailureMode.FailOpen));
                web.MapGet("/closed", () => "ok").RateLimit("2/minute", l => l.FailureMode(RateLimitFailureMode.FailClosed));
                web.MapGet("/closed-attribute", [RateLimit("2/minute", FailureMode = RateLimitFailureMode.FailClosed)] () => "ok");
            });
        Assert.Equal("200", await StatusesAsync(app, "/closed", 1));

        await app.StopSiloAsync();

        Assert.Equal("200 200 429", await StatusesAsync(app, "/memory", 3));
        Assert.Equal("200 200 200 200", await StatusesAsync(app, "/open", 4));
        Assert.Equal("503 503", await StatusesAsync(app, "/closed", 2));
        using var closed = await app.Client.GetAsync(new Uri("/closed-attribute", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, closed.StatusCode);
        Assert.Equal("application/problem+json", closed.Content.Headers.ContentType?.MediaType);
        var problem = await closed.Content.ReadAsStringAsync();
        Assert.Contains("\"title\":\"Service Unavailable\"", problem, StringComparison.Ordinal);
        Assert.Contains("\"detail\":\"Rate limits can't be checked right now; try again shortly.\"", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_limiter_wide_failure_mode_applies_to_limits_without_their_own()
    {
        await using var app = await ClientModeApp.StartAsync(
            o =>
            {
                o.FailureMode = RateLimitFailureMode.FailClosed;
                o.DefaultLimits.Add("2/minute");
            },
            web =>
            {
                web.MapGet("/default", () => "ok");
                web.MapGet("/open", () => "ok").RateLimit("2/minute", l => l.FailureMode(RateLimitFailureMode.FailOpen));
            });
        await app.StopSiloAsync();

        Assert.Equal("503 503", await StatusesAsync(app, "/default", 2));
        Assert.Equal("200 200 200", await StatusesAsync(app, "/open", 3));
    }

    private static void MapLimited(WebApplication web)
    {
        web.MapGet("/limited", () => "ok").RateLimit("3/minute");
        web.MapGet("/probe", () => "ok").RateLimit("1000/minute");
    }

    /// <summary>Probes run on requests once due (1, 2, 4 … seconds): keep asking, boundedly, until one got an answer.</summary>
    private async Task DriveProbesUntilRecoveredAsync(ClientModeApp app)
    {
        var clock = Stopwatch.StartNew();
        while (!app.Logs.Messages(LogLevel.Information).Contains(Recovered))
        {
            Assert.True(clock.Elapsed < RecoveryDeadline, $"No recovery within {RecoveryDeadline}.");
            using var response = await app.Client.GetAsync(new Uri("/probe", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        output.WriteLine($"recovered {clock.Elapsed.TotalSeconds:0.0} s after the silo was back");
    }

    private async Task<string> StatusesAsync(ClientModeApp app, string path, int times)
    {
        var statuses = new int[times];
        for (var i = 0; i < times; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await app.Client.GetAsync(new Uri(path, UriKind.Relative));
            statuses[i] = (int)response.StatusCode;
            output.WriteLine($"{path} {statuses[i]} in {clock.Elapsed.TotalMilliseconds:0.0} ms");
            Assert.True(clock.Elapsed < AnswerBound, $"{path} took {clock.Elapsed}.");
        }

        return string.Join(' ', statuses);
    }

    private static async Task<string> BodyAsync(ClientModeApp app, string path)
    {
        using var response = await app.Client.GetAsync(new Uri(path, UriKind.Relative));
        return await response.Content.ReadAsStringAsync();
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}
