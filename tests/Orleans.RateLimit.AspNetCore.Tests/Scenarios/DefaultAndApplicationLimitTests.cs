using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore.Tests;

public abstract class DefaultAndApplicationLimitTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task Default_limits_count_per_endpoint_and_reset_after_the_window()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("2/minute"),
            a =>
            {
                a.MapGet("/a", () => "a");
                a.MapGet("/b", () => "b");
            });

        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/a", 3));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/b", 3));
        app.Clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/a", 3));
    }

    [Fact]
    public async Task The_default_429_is_a_problem_whose_detail_is_the_limit()
    {
        await using var app = await StartAsync(o => o.DefaultLimits.Add("1/day"), a => a.MapGet("/a", () => "a"));

        await StatusesAsync(app.Client, "/a", 1);
        using var response = await SendAsync(app.Client, "/a");

        Assert.Equal(429, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("1 per 1 day", body.RootElement.GetProperty("detail").GetString());
        Assert.Equal(429, body.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("Too Many Requests", body.RootElement.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Unrouted_requests_are_not_limited()
    {
        await using var app = await StartAsync(o => o.DefaultLimits.Add("1/minute"), a => a.MapGet("/a", () => "a"));

        Assert.Equal("404 404 404", await StatusesAsync(app.Client, "/missing", 3));
    }

    [Fact]
    public async Task Application_limits_are_shared_by_every_endpoint()
    {
        await using var app = await StartAsync(
            o => o.ApplicationLimits.Add("3/minute"),
            a =>
            {
                a.MapGet("/a", () => "a");
                a.MapGet("/b", () => "b").RateLimit("10/minute");
            });

        Assert.Equal("200 200", await StatusesAsync(app.Client, "/a", 2));
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/b", 2));
        Assert.Equal("429", await StatusesAsync(app.Client, "/a", 1));
    }

    [Fact]
    public async Task Application_limits_per_method_count_each_method_apart()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.ApplicationLimits.Add("1/minute");
                o.ApplicationLimitsPerMethod = true;
            },
            a => a.MapMethods("/a", ["GET", "POST"], () => "a"));

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/a", 2, HttpMethod.Get));
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/a", 2, HttpMethod.Post));
    }

    [Fact]
    public async Task Default_limits_per_method_count_each_method_apart()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("1/minute");
                o.DefaultLimitsPerMethod = true;
            },
            a => a.MapMethods("/a", ["GET", "POST"], () => "a"));

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/a", 2, HttpMethod.Get));
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/a", 2, HttpMethod.Post));
    }

    [Fact]
    public async Task A_route_limit_replaces_the_defaults_unless_it_does_not_override_them()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("2/minute"),
            a =>
            {
                a.MapGet("/override", () => "o").RateLimit("5/minute");
                a.MapGet("/combine", () => "c").RateLimit("5/minute", l => l.OverrideDefaults(false));
            });

        Assert.Equal("200 200 200 200 200 429", await StatusesAsync(app.Client, "/override", 6));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/combine", 3));
    }

    [Fact]
    public async Task Default_limit_cost_and_exempt_when_apply()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("4/minute");
                o.DefaultLimitsCost = _ => 2;
                o.DefaultLimitsExemptWhen = c => c.Request.Headers.ContainsKey("X-Exempt");
            },
            a => a.MapGet("/a", () => "a"));

        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/a", 3));
        Assert.Equal(System.Net.HttpStatusCode.OK, await StatusAsync(app.Client, "/a", null, ("X-Exempt", "1")));
    }

    [Fact]
    public async Task Disabled_limiter_limits_nothing_and_writes_no_headers()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.Enabled = false;
                o.HeadersEnabled = true;
                o.DefaultLimits.Add("1/minute");
            },
            a => a.MapGet("/a", () => "a").RateLimit("1/minute"));

        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/a", 3));
        using var response = await SendAsync(app.Client, "/a");
        Assert.Null(Header(response, "X-RateLimit-Limit"));
    }

    [Fact]
    public async Task Request_filters_exempt_the_request_from_everything()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.DefaultLimits.Add("1/minute");
                o.ApplicationLimits.Add("1/minute");
                o.MetaLimits.Add("1/hour");
                o.RequestFilters.Add(c => c.Request.Headers.ContainsKey("X-Internal"));
            },
            a => a.MapGet("/a", () => "a"));

        for (var i = 0; i < 3; i++)
        {
            using var response = await SendAsync(app.Client, "/a", null, ("X-Internal", "1"));
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Null(Header(response, "X-RateLimit-Limit"));
        }

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/a", 2));
    }

    [Fact]
    public async Task Key_prefix_separates_limiters_sharing_a_cluster()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.KeyPrefix = "tenant-a";
                o.DefaultLimits.Add("1/minute");
            },
            a => a.MapGet("/a", (HttpContext c) => c.Features.Get<IRateLimitFeature>()!.CurrentLimit!.Key));

        Assert.Equal("127.0.0.1", await app.Client.GetStringAsync("/a"));
        Assert.Equal("429", await StatusesAsync(app.Client, "/a", 1));
    }
}

public sealed class DefaultAndApplicationLimitTestsOnMemory() : DefaultAndApplicationLimitTests(Backend.Memory);

public sealed class DefaultAndApplicationLimitTestsOnGrains() : DefaultAndApplicationLimitTests(Backend.Grains);
