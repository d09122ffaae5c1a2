using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// Meta limits: limits on how often a client breaks limits. Every rejected request counts one breach; a client over a meta
/// limit is rejected everywhere until the meta window, which starts at its first breach, ends.
/// </summary>
public abstract class MetaLimitTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task Breaches_block_the_client_everywhere_until_the_meta_window_of_the_first_breach_ends()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.MetaLimits.Add("2/hour");
                o.MetaLimits.Add("4/day");
                o.DefaultLimits.Add("2/minute");
            },
            a =>
            {
                a.MapGet("/a", () => "a");
                a.MapGet("/b", () => "b");
            });

        // The first breach opens both meta windows; the second, half an hour later, fills the hourly one.
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/a", 3));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("2/hour", 1), ("4/day", 3));
        app.Clock.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/a", 2));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/a"));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("2/hour", 0), ("4/day", 2));

        Assert.Equal("429 2 per 1 hour", await OutcomeAsync(app.Client, "/a"));
        Assert.Equal("429 2 per 1 hour", await OutcomeAsync(app.Client, "/b"));
        app.Clock.Advance(TimeSpan.FromMinutes(29) + TimeSpan.FromSeconds(59));
        Assert.Equal("429 2 per 1 hour", await OutcomeAsync(app.Client, "/b"));

        // An hour after the first breach, not after the second.
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/b"));

        // Third breach at 1 h; the fourth at 2 h falls in a new hourly window but fills the daily one.
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/a", 3));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("2/hour", 1), ("4/day", 1));
        app.Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/a", 3));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("2/hour", 1), ("4/day", 0));
        Assert.Equal("429 4 per 1 day", await OutcomeAsync(app.Client, "/a"));
        Assert.Equal("429 4 per 1 day", await OutcomeAsync(app.Client, "/b"));

        // Blocked until a day after the first breach, not after the fourth.
        app.Clock.Advance(TimeSpan.FromHours(21) + TimeSpan.FromMinutes(59) + TimeSpan.FromSeconds(59));
        Assert.Equal("429 4 per 1 day", await OutcomeAsync(app.Client, "/b"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/b"));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/a", 3));
    }

    [Fact]
    public async Task A_request_rejected_by_a_meta_limit_is_not_counted_as_a_breach()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.MetaLimits.Add("2/hour");
                o.MetaLimits.Add("5/day");
                o.DefaultLimits.Add("1/minute");
            },
            a => a.MapGet("/a", () => "a"));

        Assert.Equal("200 429 429", await StatusesAsync(app.Client, "/a", 3));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("2/hour", 0), ("5/day", 3));
        Assert.Equal("429 2 per 1 hour", await OutcomeAsync(app.Client, "/a"));
        Assert.Equal("429 2 per 1 hour", await OutcomeAsync(app.Client, "/a"));
        Assert.Equal("429 2 per 1 hour", await OutcomeAsync(app.Client, "/a"));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("2/hour", 0), ("5/day", 3));

        // Had the three meta rejections counted, the daily window would hold five breaches and block this.
        app.Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/a"));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/a"));
    }

    [Fact]
    public async Task A_limit_own_meta_limits_count_its_breaches_under_its_key()
    {
        await using var app = await StartAsync(
            null,
            a =>
            {
                a.MapGet("/a", () => "a").RateLimit("1/minute", l => l.KeySelector(KeySelectors.Header("X-Client")).MetaLimits("2/hour"));
                a.MapGet("/other", () => "o").RateLimit("1/second", l => l.KeySelector(KeySelectors.Header("X-Client")));
            });

        Assert.Equal("200", await OutcomeAsync(app.Client, "/a", ("X-Client", "alice")));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/a", ("X-Client", "alice")));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/a", ("X-Client", "alice")));
        await MetaBreachesCountedAsync(app, "alice", ("2/hour", 0));
        Assert.Equal("429 2 per 1 hour", await OutcomeAsync(app.Client, "/a", ("X-Client", "alice")));
        await MetaBreachesCountedAsync(app, "alice", ("2/hour", 0));

        // The same address with another key is a client of its own.
        Assert.Equal("200", await OutcomeAsync(app.Client, "/a", ("X-Client", "bob")));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/a", ("X-Client", "bob")));
        await MetaBreachesCountedAsync(app, "bob", ("2/hour", 1));

        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("429 2 per 1 hour", await OutcomeAsync(app.Client, "/a", ("X-Client", "alice")));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/a", ("X-Client", "bob")));

        // A limit's meta limits are tested only where that limit applies.
        Assert.Equal("200", await OutcomeAsync(app.Client, "/other", ("X-Client", "alice")));

        app.Clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/a", ("X-Client", "alice")));
    }

    [Fact]
    public async Task On_meta_breach_answers_the_blocked_request_and_on_breach_is_not_called_for_it()
    {
        var breaches = new List<string>();
        var metaBreaches = new List<string>();
        await using var app = await StartAsync(
            o =>
            {
                o.MetaLimits.Add("1/hour");
                o.DefaultLimits.Add("1/minute");
                o.OnBreach = b =>
                {
                    lock (breaches)
                    {
                        breaches.Add($"{b.Limit.Limit} {b.Limit.Scope}");
                    }

                    return null;
                };
                o.OnMetaBreach = b =>
                {
                    lock (metaBreaches)
                    {
                        metaBreaches.Add($"{b.Limit.Limit} {b.Limit.Scope} {b.Limit.Key} {b.Limit.Breached} {b.HttpContext.Request.Path}");
                    }

                    return Results.Text("meta: " + b.Limit.Limit, statusCode: StatusCodes.Status403Forbidden);
                };
            },
            a =>
            {
                a.MapGet("/a", () => "a");
                a.MapGet("/b", () => "b");
            });

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/a", 2));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("1/hour", 0));
        using (var blocked = await SendAsync(app.Client, "/a"))
        {
            Assert.Equal(403, (int)blocked.StatusCode);
            Assert.Equal("meta: 1 per 1 hour", await blocked.Content.ReadAsStringAsync());
        }

        Assert.Equal("403", await StatusesAsync(app.Client, "/b", 1));

        Assert.Equal(["1 per 1 minute /a"], Snapshot(breaches));
        Assert.Equal(["1 per 1 hour meta 127.0.0.1 True /a", "1 per 1 hour meta 127.0.0.1 True /b"], Snapshot(metaBreaches));
    }

    [Fact]
    public async Task A_meta_exempt_endpoint_is_not_blocked_but_its_breaches_count()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.MetaLimits.Add("2/hour");
                o.DefaultLimits.Add("1/minute");
            },
            a =>
            {
                a.MapGet("/free", () => "f").ExemptFromRateLimits(ExemptionScope.Meta);
                a.MapGet("/a", () => "a");
            });

        Assert.Equal("200 429 429", await StatusesAsync(app.Client, "/free", 3));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("2/hour", 0));
        Assert.Equal("429 2 per 1 hour", await OutcomeAsync(app.Client, "/a"));

        // Still limited by the defaults, but not by the meta limit it helped fill.
        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/free"));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/free"));
        Assert.Equal("429 2 per 1 hour", await OutcomeAsync(app.Client, "/a"));
    }

    [Fact]
    public async Task Meta_limits_count_under_the_client_key_and_scope_meta_without_the_key_prefix()
    {
        var metaBreaches = new List<string>();
        await using var app = await StartAsync(
            o =>
            {
                o.KeyPrefix = "tenant-a";
                o.MetaLimits.Add("1/hour");
                o.DefaultLimits.Add("1/minute");
                o.OnMetaBreach = b =>
                {
                    lock (metaBreaches)
                    {
                        metaBreaches.Add($"{b.Limit.Limit} | {b.Limit.Scope} | {b.Limit.Key} | {b.Limit.Shared}");
                    }

                    return null;
                };
            },
            a => a.MapGet("/a", () => "a"));

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/a", 2));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("1/hour", 0));
        Assert.Equal("429 1 per 1 hour", await OutcomeAsync(app.Client, "/a"));
        Assert.Equal(["1 per 1 hour | meta | 127.0.0.1 | True"], Snapshot(metaBreaches));

        if (Backend == Backend.Grains)
        {
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            var meta = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("1/hour"), "meta", "127.0.0.1");
            var prefixed = meta with { Prefix = "tenant-a" };
            Assert.Equal(0, (await grains.StatsAsync(meta)).Remaining);
            Assert.Equal(1, (await grains.StatsAsync(prefixed)).Remaining);
        }
    }

    [Fact]
    public async Task The_headers_of_a_meta_block_describe_the_meta_limit()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.MetaLimits.Add("2/hour");
                o.DefaultLimits.Add("1/minute");
            },
            a => a.MapGet("/a", () => "a"));

        Assert.Equal("200 429 429", await StatusesAsync(app.Client, "/a", 3));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("2/hour", 0));

        // The meta window opened with the first breach, at the start.
        var reset = (TestApp.Start.AddHours(1).ToUnixTimeSeconds() + 1).ToString(CultureInfo.InvariantCulture);
        using (var blocked = await SendAsync(app.Client, "/a"))
        {
            Assert.Equal(429, (int)blocked.StatusCode);
            Assert.Equal("2", Header(blocked, "X-RateLimit-Limit"));
            Assert.Equal("0", Header(blocked, "X-RateLimit-Remaining"));
            Assert.Equal(reset, Header(blocked, "X-RateLimit-Reset"));
            Assert.Equal("3600", Header(blocked, "Retry-After"));
        }

        app.Clock.Advance(TimeSpan.FromMinutes(10));
        using (var blocked = await SendAsync(app.Client, "/a"))
        {
            Assert.Equal(429, (int)blocked.StatusCode);
            Assert.Equal("2", Header(blocked, "X-RateLimit-Limit"));
            Assert.Equal("0", Header(blocked, "X-RateLimit-Remaining"));
            Assert.Equal(reset, Header(blocked, "X-RateLimit-Reset"));
            Assert.Equal("3000", Header(blocked, "Retry-After"));
        }
    }

    private static List<string> Snapshot(List<string> list)
    {
        lock (list)
        {
            return [.. list];
        }
    }

    /// <summary>The status code, and for a problem response its detail: <c>200</c> or <c>429 2 per 1 hour</c>.</summary>
    private static async Task<string> OutcomeAsync(HttpClient client, string path, params (string Name, string Value)[] headers)
    {
        using var response = await SendAsync(client, path, null, headers);
        var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return status;
        }

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return $"{status} {body.RootElement.GetProperty("detail").GetString()}";
    }
}

public sealed class MetaLimitTestsOnMemory() : MetaLimitTests(Backend.Memory);

public sealed class MetaLimitTestsOnGrains() : MetaLimitTests(Backend.Grains);
