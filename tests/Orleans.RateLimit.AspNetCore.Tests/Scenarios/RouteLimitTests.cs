using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.AspNetCore.Tests;

public abstract class RouteLimitTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task Per_method_limits_count_each_method_apart()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapMethods("/pm", ["GET", "POST"], RouteLimitProbe.Scope).RateLimit("1/minute", l => l.PerMethod()));

        Assert.Equal("/pm:GET", await RouteLimitProbe.OkBodyAsync(app.Client, "/pm"));
        Assert.Equal("429", await StatusesAsync(app.Client, "/pm", 1));
        Assert.Equal("/pm:POST", await RouteLimitProbe.OkBodyAsync(app.Client, "/pm", HttpMethod.Post));
        Assert.Equal("429", await StatusesAsync(app.Client, "/pm", 1, HttpMethod.Post));
    }

    [Fact]
    public async Task Methods_outside_the_filter_skip_the_limit_and_get_the_defaults()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("2/minute"),
            a => a.MapMethods("/m", ["GET", "POST"], RouteLimitProbe.Summary).RateLimit("1/minute", l => l.Methods("get")));

        // GET counts only its own limit, so the two POSTs after it still fit the per-endpoint default counter.
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/m", 2));
        Assert.Equal("2 per 1 minute@127.0.0.1=1", await RouteLimitProbe.OkBodyAsync(app.Client, "/m", HttpMethod.Post));
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/m", 2, HttpMethod.Post));
    }

    [Fact]
    public async Task Methods_outside_the_filter_are_unlimited_without_defaults()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapMethods("/m", ["GET", "DELETE"], () => "m").RateLimit("1/minute", l => l.Methods("GET")));

        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/m", 3, HttpMethod.Delete));
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/m", 2));
    }

    [Fact]
    public async Task A_fixed_cost_is_spent_per_request()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/c", RouteLimitProbe.Summary).RateLimit("10/minute", l => l.Cost(4)));

        Assert.Equal("10 per 1 minute@127.0.0.1=6", await RouteLimitProbe.OkBodyAsync(app.Client, "/c"));
        Assert.Equal("10 per 1 minute@127.0.0.1=2", await RouteLimitProbe.OkBodyAsync(app.Client, "/c"));
        Assert.Equal("429", await StatusesAsync(app.Client, "/c", 1));
    }

    [Fact]
    public async Task A_rejected_costly_request_still_fills_a_fixed_window()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/c", RouteLimitProbe.Summary)
                .RateLimit("10/minute", l => l.Cost(c => int.Parse(c.Request.Query["cost"].ToString(), CultureInfo.InvariantCulture))));

        Assert.Equal("10 per 1 minute@127.0.0.1=6", await RouteLimitProbe.OkBodyAsync(app.Client, "/c?cost=4"));
        Assert.Equal("429", await StatusesAsync(app.Client, "/c?cost=11", 1));

        // Had the rejected 11 not been counted, 6 would remain and a cost of 1 would pass.
        Assert.Equal("429 429", await StatusesAsync(app.Client, "/c?cost=1", 2));

        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("10 per 1 minute@127.0.0.1=0", await RouteLimitProbe.OkBodyAsync(app.Client, "/c?cost=10"));
    }

    [Fact]
    public async Task Deduct_when_only_tests_before_the_endpoint_and_spends_after_the_response()
    {
        await using var app = await StartAsync(
            o => o.HeadersEnabled = true,
            a => a.MapGet("/d", (HttpContext c) => c.Request.Query.ContainsKey("fail")
                    ? Results.StatusCode(500)
                    : Results.Text(RouteLimitProbe.Summary(c)))
                .RateLimit("2/minute", l => l.DeductWhen(r => r.StatusCode != 200)));

        for (var i = 0; i < 3; i++)
        {
            using var ok = await SendAsync(app.Client, "/d");
            Assert.Equal("2 per 1 minute@127.0.0.1=2", await ok.Content.ReadAsStringAsync());
            Assert.Equal("2", Header(ok, "X-RateLimit-Remaining"));
        }

        using (var failed = await SendAsync(app.Client, "/d?fail=1"))
        {
            Assert.Equal(500, (int)failed.StatusCode);
            Assert.Equal("1", Header(failed, "X-RateLimit-Remaining"));
        }

        Assert.Equal("500", await StatusesAsync(app.Client, "/d?fail=1", 1));
        Assert.Equal("2 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/d"));
        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/d", 2));
    }

    [Fact]
    public async Task Deduct_when_spends_on_429s_caused_by_other_limits()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/d", () => "d")
                .RateLimit("3/minute", l => l.DeductWhen(r => r.StatusCode != 200))
                .RateLimit("1/hour", l => l.ExemptWhen(c => c.Request.Headers.ContainsKey("X-Free"))));

        // The 3/minute limit is tested first (shorter granularity), so it is pending when the 1/hour limit rejects.
        Assert.Equal("200 429 429 429", await StatusesAsync(app.Client, "/d", 4));
        Assert.Equal("3 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/d", ("X-Free", "1")));
    }

    [Fact]
    public async Task Exempt_when_skips_the_limit_without_counting_and_without_bringing_back_the_defaults()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute"),
            a => a.MapGet("/e", () => "e").RateLimit("2/minute", l => l.ExemptWhen(c => c.Request.Headers.ContainsKey("X-Exempt"))));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(app.Client, "/e", null, ("X-Exempt", "1")));
        }

        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/e", 3));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(app.Client, "/e", null, ("X-Exempt", "1")));
    }

    [Fact]
    public async Task Stacked_limits_count_under_their_own_keys()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/s", RouteLimitProbe.Summary)
                .RateLimit("2/minute", l => l.KeySelector(KeySelectors.Header("X-Api-Key")))
                .RateLimit("3/minute"));

        Assert.Equal("2 per 1 minute@A=1;3 per 1 minute@127.0.0.1=2", await RouteLimitProbe.OkBodyAsync(app.Client, "/s", null, ("X-Api-Key", "A")));
        Assert.Equal("2 per 1 minute@A=0;3 per 1 minute@127.0.0.1=1", await RouteLimitProbe.OkBodyAsync(app.Client, "/s", null, ("X-Api-Key", "A")));

        // The key's limit comes first and stops the evaluation, so the address is not charged for this rejection.
        Assert.Equal("2 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/s", ("X-Api-Key", "A")));
        Assert.Equal("2 per 1 minute@B=1;3 per 1 minute@127.0.0.1=0", await RouteLimitProbe.OkBodyAsync(app.Client, "/s", null, ("X-Api-Key", "B")));
        Assert.Equal("3 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/s", ("X-Api-Key", "C")));
    }

    [Fact]
    public async Task Shared_limits_share_one_counter_between_endpoints()
    {
        await using var app = await StartAsync(
            null,
            a =>
            {
                a.MapGet("/a", RouteLimitProbe.Scope).SharedRateLimit("2/minute", "shared-a");
                a.MapGet("/b", RouteLimitProbe.Scope).SharedRateLimit("2/minute", "shared-a");
                a.MapGet("/c", RouteLimitProbe.Scope).RateLimit("2/minute");
            });

        Assert.Equal("shared-a", await RouteLimitProbe.OkBodyAsync(app.Client, "/a"));
        Assert.Equal("shared-a", await RouteLimitProbe.OkBodyAsync(app.Client, "/b"));
        Assert.Equal("429", await StatusesAsync(app.Client, "/a", 1));
        Assert.Equal("429", await StatusesAsync(app.Client, "/b", 1));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/c", 3));
    }

    [Fact]
    public async Task A_shared_scope_function_gets_the_endpoint_identifier()
    {
        var seen = new ConcurrentQueue<string>();
        await using var app = await StartAsync(
            null,
            a =>
            {
                Func<string, string?> scope = endpoint =>
                {
                    seen.Enqueue(endpoint);
                    return endpoint.TrimStart('/').StartsWith('x') ? "x" : "y";
                };
                a.MapGet("/x1", RouteLimitProbe.Scope).SharedRateLimit("1/minute", scope);
                a.MapGet("/named", RouteLimitProbe.Scope).SharedRateLimit("1/minute", scope).WithName("x-named");
                a.MapGet("/y1", RouteLimitProbe.Scope).SharedRateLimit("1/minute", scope);
            });

        Assert.Equal("x", await RouteLimitProbe.OkBodyAsync(app.Client, "/x1"));
        Assert.Equal("429", await StatusesAsync(app.Client, "/named", 1));
        Assert.Equal("y", await RouteLimitProbe.OkBodyAsync(app.Client, "/y1"));
        Assert.Equal(["/x1", "x-named", "/y1"], seen.ToArray());
    }

    [Fact]
    public async Task Dynamic_limits_count_each_amount_apart()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/d", () => "d").RateLimit(c => c.Request.Headers.ContainsKey("suspect") ? "1/minute" : "2/minute"));

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(app.Client, "/d", null, ("suspect", "1")));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/d", ("suspect", "1")));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/d", 3));
        Assert.Empty(RouteLimitProbe.AdapterLogs(app, LogLevel.Error));
    }

    [Fact]
    public async Task A_dynamic_limit_returning_nothing_is_no_limit_for_that_request()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/d", () => "d").RateLimit(c => c.Request.Query.TryGetValue("limit", out var v) ? v.ToString() : null));

        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/d", 3));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/d?limit=", 3));
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/d?limit=1/minute", 2));
        Assert.Empty(RouteLimitProbe.AdapterLogs(app, LogLevel.Error));
    }

    [Fact]
    public async Task A_dynamic_limit_returning_nothing_leaves_the_endpoint_to_the_defaults()
    {
        // The original resolves the endpoint's own limits to an empty list, and "every own limit skips this method" holds
        // for an empty list, so the defaults apply.
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute"),
            a => a.MapGet("/d", () => "d").RateLimit(_ => null));

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/d", 2));
    }

    [Fact]
    public async Task A_malformed_dynamic_limit_is_logged_and_the_defaults_apply()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute"),
            a => a.MapGet("/d", () => "d").RateLimit(_ => "garbage"));

        Assert.Equal("200", await StatusesAsync(app.Client, "/d", 1));
        Assert.Equal(
            ["failed to load ratelimit for endpoint /d: Couldn't parse rate limit string 'garbage': expected an amount (a whole number) at position 1, found 'g'."],
            RouteLimitProbe.AdapterLogs(app, LogLevel.Error));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/d"));
    }

    [Fact]
    public async Task Fail_on_first_breach_leaves_later_limits_untouched()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/f", RouteLimitProbe.Summary).RateLimit("1/second").RateLimit("2/minute"));

        Assert.Equal("1 per 1 second@127.0.0.1=0;2 per 1 minute@127.0.0.1=1", await RouteLimitProbe.OkBodyAsync(app.Client, "/f"));
        Assert.Equal("1 per 1 second", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/f"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("1 per 1 second@127.0.0.1=0;2 per 1 minute@127.0.0.1=0", await RouteLimitProbe.OkBodyAsync(app.Client, "/f"));
    }

    [Fact]
    public async Task Fail_on_first_breach_still_counts_the_limits_before_the_breach()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/f", () => "f").RateLimit("2/second").RateLimit("1/minute"));

        Assert.Equal("200", await StatusesAsync(app.Client, "/f", 1));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/f"));

        // The second request spent the per-second limit before the minute limit broke.
        Assert.Equal("2 per 1 second", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/f"));
    }

    [Fact]
    public async Task Without_fail_on_first_breach_every_limit_is_counted()
    {
        await using var app = await StartAsync(
            o => o.FailOnFirstBreach = false,
            a => a.MapGet("/f", RouteLimitProbe.Summary).RateLimit("1/second").RateLimit("2/minute"));

        Assert.Equal("1 per 1 second@127.0.0.1=0;2 per 1 minute@127.0.0.1=1", await RouteLimitProbe.OkBodyAsync(app.Client, "/f"));
        Assert.Equal("1 per 1 second", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/f"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("2 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/f"));
    }

    [Fact]
    public async Task Without_fail_on_first_breach_the_detail_is_the_shortest_breach_and_the_headers_the_last()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.FailOnFirstBreach = false;
                o.HeadersEnabled = true;
            },
            a => a.MapGet("/f", () => "f").RateLimit("2/hour").RateLimit("1/minute"));

        Assert.Equal("200", await StatusesAsync(app.Client, "/f", 1));
        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("200", await StatusesAsync(app.Client, "/f", 1));

        using var response = await SendAsync(app.Client, "/f");
        Assert.Equal(429, (int)response.StatusCode);
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.DetailOfAsync(response));
        Assert.Equal("2", Header(response, "X-RateLimit-Limit"));
        Assert.Equal("0", Header(response, "X-RateLimit-Remaining"));
    }
}

/// <summary>Endpoints that report what the limiter decided, and readers of its answers, for the route-limit scenarios.</summary>
internal static class RouteLimitProbe
{
    /// <summary>Every current limit as <c>limit@key=remaining</c>, shortest granularity first.</summary>
    public static string Summary(HttpContext context) =>
        string.Join(';', Feature(context).CurrentLimits.Select(l => $"{l.Limit}@{l.Key}={l.Remaining.ToString(CultureInfo.InvariantCulture)}"));

    /// <summary>The scope the current limit counts under.</summary>
    public static string Scope(HttpContext context) => Feature(context).CurrentLimit?.Scope ?? "(none)";

    public static IRateLimitFeature Feature(HttpContext context) =>
        context.Features.Get<IRateLimitFeature>() ?? throw new InvalidOperationException("The request has no rate-limit feature.");

    public static async Task<string> OkBodyAsync(HttpClient client, string path, HttpMethod? method = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200 from {path}, got {(int)response.StatusCode}: {body}");
        return body;
    }

    /// <summary>Sends a request that must be rejected with the default problem response, and returns its detail.</summary>
    public static async Task<string?> RejectionDetailAsync(HttpClient client, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request);
        return await DetailOfAsync(response);
    }

    public static async Task<string?> DetailOfAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.TooManyRequests, $"Expected 429, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        return problem.RootElement.GetProperty("detail").GetString();
    }

    /// <summary>The messages the adapter itself logged at <paramref name="level"/>, in order.</summary>
    public static List<string> AdapterLogs(TestApp app, LogLevel level) =>
        [.. app.Logs.ForCategory("Orleans.RateLimit.AspNetCore").Where(r => r.Level == level).Select(r => r.Message)];
}

public sealed class RouteLimitTestsOnMemory() : RouteLimitTests(Backend.Memory);

public sealed class RouteLimitTestsOnGrains() : RouteLimitTests(Backend.Grains);

/// <summary>Window grains count for the whole cluster: whichever node a request reaches, it spends the same limit.</summary>
public sealed class DistributedCountingTests() : AdapterTestBase(Backend.Grains)
{
    [Fact]
    public async Task One_limit_is_counted_across_both_nodes()
    {
        await using var app = await StartAsync(null, a => a.MapGet("/n", () => "n").RateLimit("3/minute"));

        var statuses = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            statuses.Add(await StatusesAsync(app.Nodes[i % 2], "/n", 1));
        }

        Assert.Equal("200 200 200 429 429 429", string.Join(' ', statuses));
        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("200", await StatusesAsync(app.Nodes[1], "/n", 1));
    }
}
