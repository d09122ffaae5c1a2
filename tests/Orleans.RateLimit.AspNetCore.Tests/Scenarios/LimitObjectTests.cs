using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>Default and application limits with settings of their own: Flask-Limiter's <c>Limit</c> and <c>ApplicationLimit</c>.</summary>
public abstract class LimitObjectTests(Backend backend) : AdapterTestBase(backend)
{
    /// <summary>The original's example key function: the <c>username</c> header, else <c>guest</c>.</summary>
    internal static string ByUser(HttpContext context) =>
        context.Request.Headers["username"] is { Count: > 0 } user ? user[0]! : "guest";

    [Fact]
    public async Task The_originals_example_counts_one_default_limit_per_user_and_one_per_address()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("2/minute", l => l.KeySelector(ByUser));
                o.DefaultLimits.Add("3/minute");
            },
            a => a.MapGet("/a", () => "a"));

        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("username", "alice")));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("username", "alice")));
        Assert.Equal("2 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("username", "bob")));
        Assert.Equal("3 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "carol")));
    }

    [Fact]
    public async Task A_shared_default_limit_counts_across_endpoints_under_its_scope()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("3/minute", l => l.Shared().Scope("site"));
                o.DefaultLimits.Add("2/minute");
            },
            a =>
            {
                a.MapGet("/a", RouteLimitProbe.Summary);
                a.MapGet("/b", RouteLimitProbe.Summary);
            });

        // Sorted by granularity only, in list order: the shared limit first.
        Assert.Equal("3 per 1 minute@127.0.0.1=2;2 per 1 minute@127.0.0.1=1", await RouteLimitProbe.OkBodyAsync(app.Client, "/a"));
        Assert.Equal("3 per 1 minute@127.0.0.1=1;2 per 1 minute@127.0.0.1=1", await RouteLimitProbe.OkBodyAsync(app.Client, "/b"));
        Assert.Equal("3 per 1 minute@127.0.0.1=0;2 per 1 minute@127.0.0.1=0", await RouteLimitProbe.OkBodyAsync(app.Client, "/b"));
        Assert.Equal("3 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a"));
    }

    [Fact]
    public async Task A_default_limits_scope_is_a_sub_scope_of_each_endpoint_unless_shared()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute", l => l.Scope("x")),
            a =>
            {
                a.MapGet("/a", RouteLimitProbe.Scope);
                a.MapGet("/b", RouteLimitProbe.Scope);
            });

        Assert.Equal("/a:x", await RouteLimitProbe.OkBodyAsync(app.Client, "/a"));
        Assert.Equal("/b:x", await RouteLimitProbe.OkBodyAsync(app.Client, "/b"));
        Assert.Equal("429", await StatusesAsync(app.Client, "/a", 1));
    }

    [Fact]
    public async Task A_default_limits_cost_methods_and_error_message_are_its_own()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("3/minute", l => l.Cost(2).Methods("post").ErrorMessage("slow down"));
                o.DefaultLimits.Add("10/hour", l => l.Methods("GET").ErrorMessage(c => "no more " + c.Request.Method));
            },
            a => a.MapMethods("/a", ["GET", "POST"], () => "a"));

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/a", 2, HttpMethod.Post));
        Assert.Equal("slow down", await DetailAsync(app, "/a", HttpMethod.Post));
        Assert.Equal("200 200 200 200 200 200 200 200 200 200 429", await StatusesAsync(app.Client, "/a", 11, HttpMethod.Get));
        Assert.Equal("no more GET", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a"));
    }

    [Fact]
    public async Task A_default_limit_per_method_counts_each_method_apart()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute", l => l.PerMethod()),
            a => a.MapMethods("/a", ["GET", "POST"], RouteLimitProbe.Scope));

        Assert.Equal("/a:GET", await RouteLimitProbe.OkBodyAsync(app.Client, "/a"));
        Assert.Equal("/a:POST", await RouteLimitProbe.OkBodyAsync(app.Client, "/a", HttpMethod.Post));
        Assert.Equal("429", await StatusesAsync(app.Client, "/a", 1, HttpMethod.Post));
    }

    [Fact]
    public async Task List_wide_settings_apply_to_plain_limits_only()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimitsCost = _ => 3;
                o.DefaultLimitsExemptWhen = c => c.Request.Headers.ContainsKey("vip");
                o.DefaultLimitsPerMethod = true;
                o.DefaultLimits.Add("6/minute");
                o.DefaultLimits.Add("5/hour", _ => { });
            },
            a =>
            {
                a.MapGet("/a", RouteLimitProbe.Summary);
                a.MapGet("/s", Scopes);
            });

        Assert.Equal("6 per 1 minute@127.0.0.1=3;5 per 1 hour@127.0.0.1=4", await RouteLimitProbe.OkBodyAsync(app.Client, "/a"));
        Assert.Equal("5 per 1 hour@127.0.0.1=3", await RouteLimitProbe.OkBodyAsync(app.Client, "/a", null, ("vip", "1")));
        Assert.Equal("/s:GET,/s", await RouteLimitProbe.OkBodyAsync(app.Client, "/s"));
    }

    [Fact]
    public async Task A_default_limits_exempt_when_and_deduct_when_are_its_own()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("1/minute", l => l.ExemptWhen(c => c.Request.Headers.ContainsKey("vip")).DeductWhen(r => r.StatusCode >= 500));
                o.DefaultLimits.Add("2/minute", l => l.ExemptWhen(c => !c.Request.Headers.ContainsKey("vip")));
            },
            a => a.MapGet("/a", (HttpContext c) => c.Request.Query.ContainsKey("fail") ? Results.StatusCode(500) : Results.Text("a")));

        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/a", 3));
        Assert.Equal("500 429", await StatusesAsync(app.Client, "/a?fail=1", 2));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("vip", "1")));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("vip", "1")));
        Assert.Equal("2 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("vip", "1")));
    }

    [Fact]
    public async Task A_default_limits_on_breach_answers_for_it()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute", l => l.OnBreach(b => Results.Text($"own {b.Limit.Limit}", statusCode: 429))),
            a => a.MapGet("/a", () => "a"));

        Assert.Equal("200", await StatusesAsync(app.Client, "/a", 1));
        using var rejected = await SendAsync(app.Client, "/a");
        Assert.Equal(429, (int)rejected.StatusCode);
        Assert.Equal("own 1 per 1 minute", await rejected.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_default_limits_meta_limits_are_keyed_like_it()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute", l => l.KeySelector(ByUser).MetaLimits("1/hour").MetaLimit("5/hour", m => m.ErrorMessage("five"))),
            a => a.MapGet("/a", () => "a"));

        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("username", "alice")));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
        await MetaBreachesCountedAsync(app, "alice", ("1/hour", 0), ("5/hour", 4));
        Assert.Equal("1 per 1 hour", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("username", "bob")));
    }

    [Fact]
    public async Task An_application_limit_is_shared_under_global_or_its_own_scope_with_its_own_key()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.ApplicationLimits.Add("3/minute", l => l.KeySelector(ByUser));
                o.ApplicationLimits.Add("3/hour", l => l.Scope("api").PerMethod());
            },
            a =>
            {
                a.MapMethods("/a", ["GET", "POST"], RouteLimitProbe.Summary);
                a.MapGet("/b", Scopes);
            });

        Assert.Equal("3 per 1 minute@alice=2;3 per 1 hour@127.0.0.1=2", await RouteLimitProbe.OkBodyAsync(app.Client, "/a", null, ("username", "alice")));
        Assert.Equal("global,api:GET", await RouteLimitProbe.OkBodyAsync(app.Client, "/b", null, ("username", "alice")));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/b", null, ("username", "alice")));
        Assert.Equal("3 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
        Assert.Equal("3 per 1 hour", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "bob")));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", HttpMethod.Post, ("username", "bob")));
    }

    [Fact]
    public async Task An_application_limits_cost_methods_exemption_deduction_message_callback_and_meta_limits_are_its_own()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.ApplicationLimitsCost = _ => 5;
                o.ApplicationLimits.Add("4/minute", l => l
                    .Cost(2)
                    .Methods("GET")
                    .ExemptWhen(c => c.Request.Headers.ContainsKey("vip"))
                    .DeductWhen(r => r.StatusCode != 404)
                    .ErrorMessage("site busy")
                    .MetaLimits("1/hour"));
                o.ApplicationLimits.Add("1/day", l => l.Methods("DELETE").OnBreach(_ => Results.Text("no deletes", statusCode: 429)));
            },
            a => a.MapMethods("/a", ["GET", "POST", "DELETE"], (HttpContext c) => c.Request.Query.ContainsKey("missing") ? Results.NotFound() : Results.Text("a")));

        Assert.Equal("404 404 404", await StatusesAsync(app.Client, "/a?missing=1", 3));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/a", 2));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/a", 2, HttpMethod.Post));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("vip", "1")));
        Assert.Equal("site busy", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a"));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("1/hour", 0));
        Assert.Equal("1 per 1 hour", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("vip", "1")));
        app.Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal("200", await StatusesAsync(app.Client, "/a", 1, HttpMethod.Delete));
        using var rejected = await SendAsync(app.Client, "/a", HttpMethod.Delete);
        Assert.Equal("no deletes", await rejected.Content.ReadAsStringAsync());
    }

    internal static string Scopes(HttpContext context) => string.Join(',', RouteLimitProbe.Feature(context).CurrentLimits.Select(l => l.Scope));

    /// <summary>The detail of the problem a rejected request gets.</summary>
    internal static async Task<string?> DetailAsync(TestApp app, string path, HttpMethod method, params (string Name, string Value)[] headers)
    {
        using var response = await SendAsync(app.Client, path, method, headers);
        Assert.Equal(429, (int)response.StatusCode);
        using var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("detail").GetString();
    }
}

public sealed class LimitObjectTestsOnMemory() : LimitObjectTests(Backend.Memory);

public sealed class LimitObjectTestsOnGrains() : LimitObjectTests(Backend.Grains);
