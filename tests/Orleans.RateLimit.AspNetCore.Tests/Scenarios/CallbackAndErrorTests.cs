using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.AspNetCore.Tests;

public abstract class CallbackAndErrorTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task Error_messages_become_the_problem_detail()
    {
        await using var app = await StartAsync(
            null,
            a =>
            {
                a.MapGet("/fixed", () => "f").RateLimit("1/minute", l => l.ErrorMessage("chill!"));
                a.MapGet("/computed", () => "c").RateLimit("1/minute", l => l.ErrorMessage(c => $"slow down, {c.Request.Query["who"]}"));
            });

        Assert.Equal("200", await StatusesAsync(app.Client, "/fixed", 1));
        Assert.Equal("chill!", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/fixed"));
        Assert.Equal("200", await StatusesAsync(app.Client, "/computed?who=ann", 1));
        Assert.Equal("slow down, bob", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/computed?who=bob"));
    }

    [Fact]
    public async Task A_limit_breach_callback_result_wins_over_the_global_one_unless_it_is_null()
    {
        await using var app = await StartAsync(
            o => o.OnBreach = _ => Results.Json(new { from = "global" }, statusCode: 429),
            a =>
            {
                a.MapGet("/own", () => "o").RateLimit("1/minute", l => l.OnBreach(_ => Results.Json(new { from = "limit" }, statusCode: 429)));
                a.MapGet("/null", () => "n").RateLimit("1/minute", l => l.OnBreach(_ => null));
                a.MapGet("/plain", () => "p").RateLimit("1/minute");
            });

        foreach (var (path, expected) in new[] { ("/own", "limit"), ("/null", "global"), ("/plain", "global") })
        {
            Assert.Equal("200", await StatusesAsync(app.Client, path, 1));
            using var response = await SendAsync(app.Client, path);
            Assert.Equal(429, (int)response.StatusCode);
            Assert.Equal($$"""{"from":"{{expected}}"}""", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_breach_callback_may_answer_with_a_success()
    {
        await using var app = await StartAsync(
            o => o.OnBreach = b => Results.Json(new { limit = b.Limit.Limit.ToString(), breached = b.Limit.Breached, key = b.Limit.Key }, statusCode: 200),
            a => a.MapGet("/a", () => "a").RateLimit("1/minute"));

        Assert.Equal("a", await RouteLimitProbe.OkBodyAsync(app.Client, "/a"));
        Assert.Equal("""{"limit":"1 per 1 minute","breached":true,"key":"127.0.0.1"}""", await RouteLimitProbe.OkBodyAsync(app.Client, "/a"));
    }

    [Fact]
    public async Task One_callback_set_globally_and_on_the_limit_runs_once_per_breach()
    {
        var calls = 0;
        Func<BreachContext, IResult?> callback = _ =>
        {
            Interlocked.Increment(ref calls);
            return null;
        };
        await using var app = await StartAsync(
            o => o.OnBreach = callback,
            a => a.MapGet("/a", () => "a").RateLimit("1/minute", l => l.OnBreach(callback)));

        Assert.Equal("200 429 429", await StatusesAsync(app.Client, "/a", 3));
        Assert.Equal(2, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task A_throwing_breach_callback_fails_the_request_without_swallow_errors()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/a", () => "a").RateLimit("1/minute", l => l.OnBreach(_ => throw new InvalidOperationException("boom"))));

        Assert.Equal("200 500", await StatusesAsync(app.Client, "/a", 2));
    }

    [Fact]
    public async Task A_throwing_breach_callback_is_logged_and_the_429_kept_with_swallow_errors()
    {
        await using var app = await StartAsync(
            o => o.SwallowErrors = true,
            a => a.MapGet("/a", () => "a").RateLimit("1/minute", l => l.OnBreach(_ => throw new InvalidOperationException("boom"))));

        Assert.Equal("200", await StatusesAsync(app.Client, "/a", 1));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a"));
        Assert.Equal(["on_breach callback failed with error boom"], RouteLimitProbe.AdapterLogs(app, LogLevel.Error));
    }

    [Fact]
    public async Task A_throwing_key_selector_fails_the_request_without_swallow_errors()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/a", () => "a").RateLimit("1/minute", l => l.KeySelector(_ => throw new InvalidOperationException("no key"))));

        Assert.Equal("500 500", await StatusesAsync(app.Client, "/a", 2));
    }

    [Fact]
    public async Task A_throwing_key_selector_lets_the_request_through_unlimited_with_swallow_errors()
    {
        await using var app = await StartAsync(
            o => o.SwallowErrors = true,
            a => a.MapGet("/a", RouteLimitProbe.Scope).RateLimit("1/minute", l => l.KeySelector(_ => throw new InvalidOperationException("no key"))));

        Assert.Equal("(none)", await RouteLimitProbe.OkBodyAsync(app.Client, "/a"));
        var swallowed = Assert.Single(app.Logs.ForCategory("Orleans.RateLimit.AspNetCore"));
        Assert.Equal(LogLevel.Error, swallowed.Level);
        Assert.Equal("Failed to rate limit. Swallowing error", swallowed.Message);
        Assert.Equal("no key", swallowed.Exception?.Message);
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/a", 2));
    }

    [Fact]
    public async Task A_throwing_cost_function_lets_the_request_through_unlimited_with_swallow_errors()
    {
        await using var app = await StartAsync(
            o => o.SwallowErrors = true,
            a => a.MapGet("/a", () => "a").RateLimit("1/minute", l => l.Cost(_ => throw new InvalidOperationException("no cost"))));

        Assert.Equal("200", await StatusesAsync(app.Client, "/a", 1));
        Assert.Equal(["Failed to rate limit. Swallowing error"], RouteLimitProbe.AdapterLogs(app, LogLevel.Error));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/a", 2));
    }

    [Fact]
    public async Task A_throwing_cost_function_fails_the_request_without_swallow_errors()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/a", () => "a").RateLimit("1/minute", l => l.Cost(_ => throw new InvalidOperationException("no cost"))));

        Assert.Equal("500", await StatusesAsync(app.Client, "/a", 1));
    }

    [Fact]
    public async Task One_breach_is_logged_once_at_information()
    {
        await using var app = await StartAsync(null, a => a.MapGet("/t1", () => "t1").RateLimit("1/minute"));

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/t1", 2));
        Assert.Equal(["ratelimit 1 per 1 minute (127.0.0.1) exceeded at endpoint: /t1"], RouteLimitProbe.AdapterLogs(app, LogLevel.Information));
        Assert.Empty(RouteLimitProbe.AdapterLogs(app, LogLevel.Error));
    }

    [Fact]
    public async Task An_empty_key_skips_the_limit_with_an_error()
    {
        await using var app = await StartAsync(
            null,
            a =>
            {
                a.MapGet("/empty", () => "e").RateLimit("1/minute", l => l.KeySelector(_ => ""));
                a.MapGet("/header", () => "h").RateLimit("1/minute", l => l.KeySelector(KeySelectors.Header("X-Api-Key")));
            });

        Assert.Equal("200", await StatusesAsync(app.Client, "/empty", 1));
        Assert.Equal(["Skipping limit: 1 per 1 minute. Empty value found in parameters."], RouteLimitProbe.AdapterLogs(app, LogLevel.Error));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/empty", 2));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/header", 3));
        Assert.Equal(6, RouteLimitProbe.AdapterLogs(app, LogLevel.Error).Count(m => m == "Skipping limit: 1 per 1 minute. Empty value found in parameters."));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(app.Client, "/header", null, ("X-Api-Key", "k")));
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(app.Client, "/header", null, ("X-Api-Key", "k")));
    }

    [Fact]
    public async Task An_in_handler_limit_rejects_with_its_own_problem()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/ih", async (HttpContext c) =>
            {
                await c.RequestServices.GetRequiredService<IRequestLimiter>().LimitAsync(c, "1/second");
                return RouteLimitProbe.Summary(c);
            }));

        Assert.Equal("1 per 1 second@127.0.0.1=0", await RouteLimitProbe.OkBodyAsync(app.Client, "/ih"));
        Assert.Equal("1 per 1 second", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/ih"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await StatusesAsync(app.Client, "/ih", 1));
    }

    [Fact]
    public async Task A_handler_may_catch_its_own_limit_and_answer_itself()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/ih", async (HttpContext c) =>
            {
                try
                {
                    await c.RequestServices.GetRequiredService<IRequestLimiter>().LimitAsync(c, "1/second");
                    return "ok";
                }
                catch (RateLimitExceededException e)
                {
                    var current = RouteLimitProbe.Feature(c).CurrentLimit!;
                    return $"busy: {e.Description}; current {current.Limit} breached={current.Breached} remaining={current.Remaining}";
                }
            }));

        Assert.Equal("ok", await RouteLimitProbe.OkBodyAsync(app.Client, "/ih"));
        Assert.Equal("busy: 1 per 1 second; current 1 per 1 second breached=True remaining=0", await RouteLimitProbe.OkBodyAsync(app.Client, "/ih"));
    }

    [Fact]
    public async Task Disable_rate_limiting_exempts_from_every_limit()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.DefaultLimits.Add("1/minute");
                o.ApplicationLimits.Add("2/minute");
                o.MetaLimits.Add("1/hour");
            },
            a =>
            {
                a.MapGet("/a", () => "a");
                a.MapGet("/off", () => "off").RateLimit("1/minute").DisableRateLimiting();
                a.MapGet("/attr", [DisableRateLimiting] () => "attr");
            });

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/a", 2));
        foreach (var path in new[] { "/off", "/attr", "/off", "/attr", "/off", "/attr" })
        {
            using var response = await SendAsync(app.Client, path);
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Null(Header(response, "X-RateLimit-Limit"));
        }
    }
}

public sealed class CallbackAndErrorTestsOnMemory() : CallbackAndErrorTests(Backend.Memory);

public sealed class CallbackAndErrorTestsOnGrains() : CallbackAndErrorTests(Backend.Grains);
