using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>Meta limits with settings of their own: Flask-Limiter's <c>MetaLimit</c>.</summary>
public abstract class MetaLimitObjectTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task A_meta_limit_with_its_own_key_selector_and_on_breach_blocks_that_key_only()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.OnMetaBreach = _ => Results.Text("limiter callback", statusCode: 429);
                o.DefaultLimits.Add("1/minute");
                o.MetaLimits.Add("1/hour", m => m.KeySelector(LimitObjectTests.ByUser).OnBreach(b => Results.Text($"banned {b.Limit.Key} {b.Limit.Limit}", statusCode: 403)));
            },
            a =>
            {
                a.MapGet("/a", () => "a");
                a.MapGet("/b", () => "b");
            });

        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("username", "alice")));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
        await BreachesCountedAsync(app, "meta", "alice", "1/hour", 0);
        using (var banned = await SendAsync(app.Client, "/b", null, ("username", "alice")))
        {
            Assert.Equal(403, (int)banned.StatusCode);
            Assert.Equal("banned alice 1 per 1 hour", await banned.Content.ReadAsStringAsync());
        }

        Assert.Equal(200, (int)await StatusAsync(app.Client, "/b", null, ("username", "bob")));
    }

    [Fact]
    public async Task A_meta_limits_cost_is_spent_in_its_test_while_a_breach_counts_one()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("1/minute");
                o.MetaLimits.Add("3/hour", m => m.Cost(2));
            },
            a => a.MapGet("/a", () => "a"));

        Assert.Equal("200", await StatusesAsync(app.Client, "/a", 1));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a"));
        await BreachesCountedAsync(app, "meta", "127.0.0.1", "3/hour", 2);

        // 1 breach + a cost of 2 is within 3: the request reaches the default limit, and its breach counts 1 more.
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a"));
        await BreachesCountedAsync(app, "meta", "127.0.0.1", "3/hour", 1);
        Assert.Equal("3 per 1 hour", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a"));
    }

    [Fact]
    public async Task A_meta_limits_scope_error_message_and_exemption_are_its_own()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("1/minute");
                o.MetaLimits.Add("1/hour", m => m.Scope("bans").ErrorMessage("banned").ExemptWhen(c => c.Request.Headers.ContainsKey("vip")));
                o.MetaLimits.Add("5/hour", m => m.Scope(endpoint => "bans" + endpoint).ErrorMessage(c => "banned from " + c.Request.Path));
            },
            a => a.MapGet("/a", () => "a"));

        Assert.Equal("200", await StatusesAsync(app.Client, "/a", 1));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a"));
        await BreachesCountedAsync(app, "bans", "127.0.0.1", "1/hour", 0);
        await BreachesCountedAsync(app, "bans/a", "127.0.0.1", "5/hour", 4);
        Assert.Equal("banned", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a"));

        // Exempt: neither tested nor counted, so four more breaches (one above) leave the second meta limit blocking.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("vip", "1")));
        }

        await BreachesCountedAsync(app, "bans", "127.0.0.1", "1/hour", 0);
        await BreachesCountedAsync(app, "bans/a", "127.0.0.1", "5/hour", 0);
        Assert.Equal("banned from /a", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("vip", "1")));
    }

    [Fact]
    public async Task A_meta_limit_of_a_limit_falls_back_to_that_limits_key_then_to_the_limiters()
    {
        await using var app = await StartAsync(
            o => o.KeySelector = c => c.Request.Headers["tenant"] is { Count: > 0 } t ? t[0] : "none",
            a =>
            {
                a.MapGet("/user", () => "u").RateLimit("1/minute", l => l.KeySelector(LimitObjectTests.ByUser).MetaLimit("1/hour", m => m.ErrorMessage("user banned")));
                a.MapGet("/tenant", () => "t").RateLimit("1/minute", l => l.MetaLimit("1/hour", m => m.ErrorMessage("tenant banned")));
            });

        (string, string)[] alice = [("username", "alice"), ("tenant", "t1")];
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/user", null, alice));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/user", alice));
        await BreachesCountedAsync(app, "meta", "alice", "1/hour", 0);
        Assert.Equal("user banned", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/user", alice));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/user", null, ("username", "bob"), ("tenant", "t1")));

        Assert.Equal(200, (int)await StatusAsync(app.Client, "/tenant", null, alice));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/tenant", alice));
        await BreachesCountedAsync(app, "meta", "t1", "1/hour", 0);
        Assert.Equal("tenant banned", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/tenant", ("username", "bob"), ("tenant", "t1")));
    }

    /// <summary>
    /// On grains a breach is counted by a one-way call: waits until the meta window of <paramref name="key"/> under
    /// <paramref name="scope"/> has <paramref name="remaining"/> units left. On the memory store there is nothing to wait for.
    /// </summary>
    private async Task BreachesCountedAsync(TestApp app, string scope, string key, string limit, long remaining)
    {
        if (Backend != Backend.Grains)
        {
            return;
        }

        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var window = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse(limit), scope, key);
        var waited = Stopwatch.StartNew();
        long seen;
        while ((seen = (await grains.StatsAsync(window)).Remaining) != remaining)
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException($"The meta window {limit} of {key} under {scope} has {seen} remaining, not {remaining}.");
            }

            await Task.Delay(5);
        }
    }
}

public sealed class MetaLimitObjectTestsOnMemory() : MetaLimitObjectTests(Backend.Memory);

public sealed class MetaLimitObjectTestsOnGrains() : MetaLimitObjectTests(Backend.Grains);
