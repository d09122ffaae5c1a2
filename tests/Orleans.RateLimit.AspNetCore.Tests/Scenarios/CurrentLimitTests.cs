using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore.Tests;

public abstract class CurrentLimitTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task The_current_limit_follows_the_documented_example()
    {
        var breaches = new ConcurrentQueue<string>();
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.OnBreach = b =>
                {
                    breaches.Enqueue($"{Describe(b.Limit)} reset={b.Limit.ResetAt:O} | {DescribeAll(b.HttpContext)}");
                    return null;
                };
            },
            a => a.MapGet("/t", DescribeAll).RateLimit("1/second;60/minute;2/day"));

        Assert.Equal(
            "current: 1 per 1 second key=127.0.0.1 scope=/t remaining=0 | all: "
            + "1 per 1 second key=127.0.0.1 scope=/t remaining=0, 60 per 1 minute key=127.0.0.1 scope=/t remaining=59, "
            + "2 per 1 day key=127.0.0.1 scope=/t remaining=1",
            await app.Client.GetStringAsync(new Uri("/t", UriKind.Relative)));

        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(
            "current: 1 per 1 second key=127.0.0.1 scope=/t remaining=0 | all: "
            + "1 per 1 second key=127.0.0.1 scope=/t remaining=0, 60 per 1 minute key=127.0.0.1 scope=/t remaining=58, "
            + "2 per 1 day key=127.0.0.1 scope=/t remaining=0",
            await app.Client.GetStringAsync(new Uri("/t", UriKind.Relative)));

        app.Clock.Advance(TimeSpan.FromSeconds(1));
        using var rejected = await SendAsync(app.Client, "/t");
        Assert.Equal(429, (int)rejected.StatusCode);
        Assert.Equal("2", Header(rejected, "X-RateLimit-Limit"));
        Assert.Equal("0", Header(rejected, "X-RateLimit-Remaining"));
        Assert.Equal((TestApp.Start.ToUnixTimeSeconds() + 86401).ToString(CultureInfo.InvariantCulture), Header(rejected, "X-RateLimit-Reset"));
        Assert.Equal("86398", Header(rejected, "Retry-After"));
        Assert.Equal(
            [
                "2 per 1 day key=127.0.0.1 scope=/t breached remaining=0 reset=2026-11-24T12:00:00.2500000+00:00 | current: "
                + "2 per 1 day key=127.0.0.1 scope=/t breached remaining=0 | all: "
                + "1 per 1 second key=127.0.0.1 scope=/t remaining=0, 60 per 1 minute key=127.0.0.1 scope=/t remaining=57, "
                + "2 per 1 day key=127.0.0.1 scope=/t breached remaining=0",
            ],
            breaches);
    }

    [Fact]
    public async Task With_fail_on_first_breach_the_current_limits_end_at_the_breached_one()
    {
        var breaches = new ConcurrentQueue<string>();
        await using var app = await StartAsync(
            o => o.OnBreach = b =>
            {
                breaches.Enqueue($"{Describe(b.Limit)} | {DescribeAll(b.HttpContext)}");
                return null;
            },
            a => a.MapGet("/t", DescribeAll).RateLimit("1/second;60/minute"));

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/t", 2));
        Assert.Equal(
            [
                "1 per 1 second key=127.0.0.1 scope=/t breached remaining=0 | current: "
                + "1 per 1 second key=127.0.0.1 scope=/t breached remaining=0 | all: "
                + "1 per 1 second key=127.0.0.1 scope=/t breached remaining=0",
            ],
            breaches);
    }

    [Fact]
    public async Task Without_fail_on_first_breach_every_limit_is_listed_and_the_last_breach_is_current()
    {
        var breaches = new ConcurrentQueue<string>();
        await using var app = await StartAsync(
            o =>
            {
                o.FailOnFirstBreach = false;
                o.OnBreach = b =>
                {
                    breaches.Enqueue($"{Describe(b.Limit)} | {DescribeAll(b.HttpContext)}");
                    return null;
                };
            },
            a => a.MapGet("/t", DescribeAll).RateLimit("1/minute;1/second"));

        Assert.Equal("200", await StatusesAsync(app.Client, "/t", 1));
        using var rejected = await SendAsync(app.Client, "/t");

        // The 429 names the breached limit of the smallest granularity; the current limit is the last one breached.
        using var body = JsonDocument.Parse(await rejected.Content.ReadAsStringAsync());
        Assert.Equal("1 per 1 second", body.RootElement.GetProperty("detail").GetString());
        const string all = " | current: 1 per 1 minute key=127.0.0.1 scope=/t breached remaining=0 | all: "
            + "1 per 1 second key=127.0.0.1 scope=/t breached remaining=0, 1 per 1 minute key=127.0.0.1 scope=/t breached remaining=0";
        Assert.Equal(
            [
                "1 per 1 second key=127.0.0.1 scope=/t breached remaining=0" + all,
                "1 per 1 minute key=127.0.0.1 scope=/t breached remaining=0" + all,
            ],
            breaches);
    }

    [Fact]
    public async Task An_evaluation_of_no_limits_still_replaces_the_current_limits()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.ApplicationLimits.Add("10/minute");
            },
            a => a.MapGet("/t", DescribeAll).RateLimit("5/minute", l => l.ExemptWhen(c => c.Request.Headers.ContainsKey("X-Skip"))));

        Assert.Equal(
            "current: 5 per 1 minute key=127.0.0.1 scope=/t remaining=4 | all: 5 per 1 minute key=127.0.0.1 scope=/t remaining=4",
            await GetAsync(app, "/t"));

        // The application limit is counted, but the route's evaluation, which skipped its only limit, is the one described,
        // as in the original, where every phase overwrites the current limits.
        using var skipped = await SendAsync(app.Client, "/t", null, ("X-Skip", "1"));
        Assert.Equal(200, (int)skipped.StatusCode);
        Assert.Equal("current: none | all: ", await skipped.Content.ReadAsStringAsync());
        Assert.Null(Header(skipped, "X-RateLimit-Limit"));
        Assert.Null(Header(skipped, "Retry-After"));

        Assert.Equal(
            "current: 5 per 1 minute key=127.0.0.1 scope=/t remaining=3 | all: 5 per 1 minute key=127.0.0.1 scope=/t remaining=3",
            await GetAsync(app, "/t"));

        // The skipped requests still spend the application limit: 3 requests so far, 7 more fill it.
        var statuses = new List<int>();
        for (var i = 0; i < 8; i++)
        {
            statuses.Add((int)await StatusAsync(app.Client, "/t", null, ("X-Skip", "1")));
        }

        Assert.Equal([200, 200, 200, 200, 200, 200, 200, 429], statuses);
    }

    [Fact]
    public async Task A_meta_breach_makes_the_meta_limit_current()
    {
        var breaches = new ConcurrentQueue<string>();
        await using var app = await StartAsync(
            o =>
            {
                o.MetaLimits.Add("1/hour");
                o.DefaultLimits.Add("1/minute");
                o.OnMetaBreach = b =>
                {
                    breaches.Enqueue($"{Describe(b.Limit)} | {DescribeAll(b.HttpContext)}");
                    return null;
                };
            },
            a => a.MapGet("/t", DescribeAll));

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/t", 2));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("1/hour", 0));
        Assert.Equal("429", await StatusesAsync(app.Client, "/t", 1));
        Assert.Equal(
            [
                "1 per 1 hour key=127.0.0.1 scope=meta shared breached remaining=0 | current: "
                + "1 per 1 hour key=127.0.0.1 scope=meta shared breached remaining=0 | all: "
                + "1 per 1 hour key=127.0.0.1 scope=meta shared breached remaining=0",
            ],
            breaches);
    }

    [Fact]
    public async Task Scopes_name_the_endpoint_the_method_the_sub_scope_or_the_shared_scope()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.ApplicationLimits.Add("100/minute");
                o.DefaultLimits.Add("5/minute");
            },
            a =>
            {
                a.MapGet("/t", DescribeAll);
                a.MapGet("/named", DescribeAll).WithName("named-endpoint");
                a.MapGet("/items/{id}", DescribeAll);
                a.MapGet("/per-method", DescribeAll).RateLimit("5/minute", l => l.PerMethod());
                a.MapGet("/sub", DescribeAll).RateLimit("5/minute", l => l.Scope("s"));
                a.MapGet("/shared", DescribeAll).SharedRateLimit("5/minute", "pool");
            });

        // Undecorated: the application and default limits of one evaluation, the non-shared default current.
        Assert.Equal(
            "current: 5 per 1 minute key=127.0.0.1 scope=/t remaining=4 | all: "
            + "100 per 1 minute key=127.0.0.1 scope=global shared remaining=99, 5 per 1 minute key=127.0.0.1 scope=/t remaining=4",
            await GetAsync(app, "/t"));
        Assert.Equal(
            "current: 5 per 1 minute key=127.0.0.1 scope=named-endpoint remaining=4 | all: "
            + "100 per 1 minute key=127.0.0.1 scope=global shared remaining=98, 5 per 1 minute key=127.0.0.1 scope=named-endpoint remaining=4",
            await GetAsync(app, "/named"));
        Assert.Equal(
            "current: 5 per 1 minute key=127.0.0.1 scope=/items/{id} remaining=4 | all: "
            + "100 per 1 minute key=127.0.0.1 scope=global shared remaining=97, 5 per 1 minute key=127.0.0.1 scope=/items/{id} remaining=4",
            await GetAsync(app, "/items/1"));
        Assert.Equal(
            "current: 5 per 1 minute key=127.0.0.1 scope=/items/{id} remaining=3 | all: "
            + "100 per 1 minute key=127.0.0.1 scope=global shared remaining=96, 5 per 1 minute key=127.0.0.1 scope=/items/{id} remaining=3",
            await GetAsync(app, "/items/2"));

        // Decorated: the route limits' evaluation replaces the application limits' as the current limits.
        Assert.Equal(
            "current: 5 per 1 minute key=127.0.0.1 scope=/per-method:GET remaining=4 | all: "
            + "5 per 1 minute key=127.0.0.1 scope=/per-method:GET remaining=4",
            await GetAsync(app, "/per-method"));
        Assert.Equal(
            "current: 5 per 1 minute key=127.0.0.1 scope=/sub:s remaining=4 | all: 5 per 1 minute key=127.0.0.1 scope=/sub:s remaining=4",
            await GetAsync(app, "/sub"));
        Assert.Equal(
            "current: 5 per 1 minute key=127.0.0.1 scope=pool shared remaining=4 | all: 5 per 1 minute key=127.0.0.1 scope=pool shared remaining=4",
            await GetAsync(app, "/shared"));
    }

    [Fact]
    public async Task Application_limits_per_method_are_scoped_global_and_the_method()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.ApplicationLimits.Add("10/minute");
                o.ApplicationLimitsPerMethod = true;
            },
            a => a.MapMethods("/t", ["GET", "POST"], DescribeAll));

        Assert.Equal(
            "current: 10 per 1 minute key=127.0.0.1 scope=global:GET shared remaining=9 | all: 10 per 1 minute key=127.0.0.1 scope=global:GET shared remaining=9",
            await GetAsync(app, "/t"));
        using var post = await SendAsync(app.Client, "/t", HttpMethod.Post);
        Assert.Equal(
            "current: 10 per 1 minute key=127.0.0.1 scope=global:POST shared remaining=9 | all: 10 per 1 minute key=127.0.0.1 scope=global:POST shared remaining=9",
            await post.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_key_is_what_the_key_selector_returned()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.KeySelector = KeySelectors.Header("X-Api-Key");
                o.DefaultLimits.Add("1/minute");
            },
            a => a.MapGet("/t", DescribeAll));

        using var alice = await SendAsync(app.Client, "/t", null, ("X-Api-Key", "alice"));
        Assert.Equal(
            "current: 1 per 1 minute key=alice scope=/t remaining=0 | all: 1 per 1 minute key=alice scope=/t remaining=0",
            await alice.Content.ReadAsStringAsync());
        using var bob = await SendAsync(app.Client, "/t", null, ("X-Api-Key", "bob"));
        Assert.Equal(
            "current: 1 per 1 minute key=bob scope=/t remaining=0 | all: 1 per 1 minute key=bob scope=/t remaining=0",
            await bob.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_request_identifier_is_the_scope_and_an_empty_one_skips_limiting()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.DefaultLimits.Add("1/minute");
                o.RequestIdentifier = c => c.Request.Query["area"];
            },
            a =>
            {
                a.MapGet("/a", DescribeAll);
                a.MapGet("/b", DescribeAll);
            });

        Assert.Equal(
            "current: 1 per 1 minute key=127.0.0.1 scope=north remaining=0 | all: 1 per 1 minute key=127.0.0.1 scope=north remaining=0",
            await GetAsync(app, "/a?area=north"));

        // Both endpoints identify as "north", so they count in one window.
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(app.Client, "/b?area=north"));
        Assert.Equal(
            "current: 1 per 1 minute key=127.0.0.1 scope=south remaining=0 | all: 1 per 1 minute key=127.0.0.1 scope=south remaining=0",
            await GetAsync(app, "/b?area=south"));

        foreach (var path in new[] { "/a", "/a?area=", "/a", "/b?area=" })
        {
            using var unlimited = await SendAsync(app.Client, path);
            Assert.Equal(200, (int)unlimited.StatusCode);
            Assert.Equal("no limits", await unlimited.Content.ReadAsStringAsync());
            Assert.Null(Header(unlimited, "X-RateLimit-Limit"));
        }
    }

    private static async Task<string> GetAsync(TestApp app, string path)
    {
        using var response = await SendAsync(app.Client, path);
        Assert.Equal(200, (int)response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static string DescribeAll(HttpContext context)
    {
        if (context.Features.Get<IRateLimitFeature>() is not { } feature)
        {
            return "no limits";
        }

        var current = feature.CurrentLimit is { } limit ? Describe(limit) : "none";
        return $"current: {current} | all: {string.Join(", ", feature.CurrentLimits.Select(Describe))}";
    }

    private static string Describe(RequestLimit limit) =>
        $"{limit.Limit} key={limit.Key} scope={limit.Scope}{(limit.Shared ? " shared" : "")}{(limit.Breached ? " breached" : "")} remaining={limit.Remaining}";
}

public sealed class CurrentLimitTestsOnMemory() : CurrentLimitTests(Backend.Memory);

public sealed class CurrentLimitTestsOnGrains() : CurrentLimitTests(Backend.Grains);
