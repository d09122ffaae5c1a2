using Microsoft.AspNetCore.Builder;
using Orleans.RateLimit.AspNetCore;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// Two request sequences on which the original and the product used to answer differently: identical limits counted twice,
/// and an endpoint exempt from the default limits, with a limit of its own, sent the application limit's headers.
/// </summary>
public abstract class IdenticalLimitAndHeaderParityTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task Identical_endpoint_limits_count_once()
    {
        await using var app = await StartAsync(
            o => o.HeadersEnabled = true,
            a => a.MapGet("/dup", () => "dup").RateLimit("3/minute").RateLimit("3/minute"));

        Assert.Equal(["200 remaining=2", "200 remaining=1", "200 remaining=0", "429 remaining=0"], await RemainingAsync(app, "/dup", 4));
    }

    [Fact]
    public async Task Identical_default_limits_count_once()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.DefaultLimits.Add("3/minute");
                o.DefaultLimits.Add("3/minute");
            },
            a => a.MapGet("/dup", () => "dup"));

        Assert.Equal(["200 remaining=2", "200 remaining=1", "200 remaining=0", "429 remaining=0"], await RemainingAsync(app, "/dup", 4));
    }

    [Fact]
    public async Task Identical_items_of_default_and_application_limits_count_once()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.DefaultLimits.Add("3/minute;10/hour");
                o.DefaultLimits.Add("3/minute");
                o.ApplicationLimits.Add("4/minute");
                o.ApplicationLimits.Add(_ => "4/minute");
            },
            a => a.MapGet("/dup", RouteLimitProbe.Summary));

        Assert.Equal(
            "4 per 1 minute@127.0.0.1=3;3 per 1 minute@127.0.0.1=2;10 per 1 hour@127.0.0.1=9",
            await RouteLimitProbe.OkBodyAsync(app.Client, "/dup"));
        Assert.Equal(["200 remaining=1", "200 remaining=0", "429 remaining=0"], await RemainingAsync(app, "/dup", 3));
        Assert.Equal("4 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/dup"));
    }

    [Fact]
    public async Task A_dynamic_limit_identical_to_a_fixed_one_after_it_counts_once()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.ApplicationLimits.Add(_ => "2/minute");
                o.ApplicationLimits.Add("2/minute");
            },
            a => a.MapGet("/dup", () => "dup"));

        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/dup", 3));
    }

    [Fact]
    public async Task Identical_attributes_count_once()
    {
        await using var app = await StartAsync(
            o => o.HeadersEnabled = true,
            a => a.MapGet("/dup", [RateLimit("3/minute")] [RateLimit("3/minute")] () => "dup"));

        Assert.Equal(["200 remaining=2", "200 remaining=1", "200 remaining=0", "429 remaining=0"], await RemainingAsync(app, "/dup", 4));
    }

    [Fact]
    public async Task Limits_that_differ_in_a_setting_both_count()
    {
        await using var app = await StartAsync(
            o => o.HeadersEnabled = true,
            a => a.MapGet("/two", () => "two").RateLimit("3/minute").RateLimit("3/minute", l => l.Cost(2)));

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/two", 2));
    }

    [Fact]
    public async Task An_endpoint_exempt_from_defaults_with_a_limit_of_its_own_counts_the_application_limit_and_sends_no_headers()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.ApplicationLimits.Add("6/minute");
                o.DefaultLimits.Add("2/minute");
            },
            a =>
            {
                a.MapGet("/nodef", () => "nodef").ExemptFromRateLimits(ExemptionScope.Default).RateLimit("1/minute");
                a.MapGet("/other", () => "other");
            });

        for (var i = 0; i < 6; i++)
        {
            using var ok = await SendAsync(app.Client, "/nodef");
            Assert.Equal(200, (int)ok.StatusCode);
            Assert.All(["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"], name => Assert.Null(Header(ok, name)));
        }

        using var rejected = await SendAsync(app.Client, "/nodef");
        Assert.Equal(429, (int)rejected.StatusCode);
        Assert.Equal("6", Header(rejected, "X-RateLimit-Limit"));
        Assert.Equal("0", Header(rejected, "X-RateLimit-Remaining"));
        Assert.Equal("429", await StatusesAsync(app.Client, "/other", 1));
    }

    [Fact]
    public async Task Default_limits_count_for_a_method_every_group_limit_skips()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("2/minute"),
            a => a.MapGroup("/g").RateLimit("1/minute", l => l.Methods("POST")).MapGet("/x", () => "x"));

        // The group's limit is for POST only; for GET the route has no limit of its group, so the defaults count, as they
        // do for a decorated route whose limits all skip the method.
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/g/x", 3));
    }

    private static async Task<string[]> RemainingAsync(TestApp app, string path, int times)
    {
        var seen = new string[times];
        for (var i = 0; i < times; i++)
        {
            using var response = await SendAsync(app.Client, path);
            seen[i] = $"{(int)response.StatusCode} remaining={Header(response, "X-RateLimit-Remaining")}";
        }

        return seen;
    }
}

public sealed class IdenticalLimitAndHeaderParityTestsOnMemory() : IdenticalLimitAndHeaderParityTests(Backend.Memory);

public sealed class IdenticalLimitAndHeaderParityTestsOnGrains() : IdenticalLimitAndHeaderParityTests(Backend.Grains);
