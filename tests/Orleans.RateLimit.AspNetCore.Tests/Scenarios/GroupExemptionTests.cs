using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// Route groups as Flask-Limiter's blueprints, nested groups as its nested blueprints: which group, default and application
/// limits reach an endpoint, and what each exemption flag lifts.
/// </summary>
public abstract class GroupExemptionTests(Backend backend) : AdapterTestBase(backend)
{
    // The plan builder tells outer groups from inner ones by metadata order alone, so that order is a premise worth pinning.
    [Fact]
    public async Task Metadata_runs_from_the_outer_group_to_the_inner_group_to_the_endpoint()
    {
        await using var app = await StartAsync(
            null,
            a =>
            {
                var outer = a.MapGroup("/order").WithMetadata(new Marker("outer")).RateLimit("10/minute");
                var inner = outer.MapGroup("/inner").WithMetadata(new Marker("inner")).RateLimit("20/minute");
                inner.MapGet("/a", (HttpContext c) => string.Join(
                        ",",
                        c.GetEndpoint()!.Metadata
                            .Select(m => m is Marker marker ? marker.Name : m.ToString() ?? "")
                            .Where(m => m is "outer" or "inner" or "endpoint" || m.StartsWith("RateLimit ", StringComparison.Ordinal))))
                    .WithMetadata(new Marker("endpoint"))
                    .RateLimit("30/minute");
            });

        Assert.Equal(
            "outer,RateLimit 10/minute,inner,RateLimit 20/minute,endpoint,RateLimit 30/minute",
            await app.Client.GetStringAsync(new Uri("order/inner/a", UriKind.Relative)));
    }

    [Fact]
    public async Task A_group_limit_counts_per_endpoint_and_replaces_the_defaults()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute"),
            a =>
            {
                var group = a.MapGroup("/g").RateLimit("3/minute");
                group.MapGet("/a", () => "a");
                group.MapGet("/b", () => "b");
                a.MapGet("/outside", () => "o");
            });

        Assert.Equal("200 200 200 429", await StatusesAsync(app.Client, "/g/a", 4));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/g/b", 3));
        Assert.Equal("429 3 per 1 minute", await OutcomeAsync(app.Client, "/g/b"));
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/outside", 2));
    }

    [Fact]
    public async Task A_group_limit_that_does_not_override_the_defaults_adds_to_them()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("3/minute"),
            a => a.MapGroup("/g").RateLimit("2/second", l => l.OverrideDefaults(false)).MapGet("/a", () => "a"));

        Assert.Equal("200 200", await StatusesAsync(app.Client, "/g/a", 2));
        Assert.Equal("429 2 per 1 second", await OutcomeAsync(app.Client, "/g/a"));

        // The rejected request stopped at the 2/second limit, so the defaults have counted two requests, not three.
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/g/a"));
        Assert.Equal("429 3 per 1 minute", await OutcomeAsync(app.Client, "/g/a"));
    }

    [Fact]
    public async Task A_nested_group_without_limits_inherits_the_limits_of_the_group_around_it()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute"),
            a =>
            {
                var parent = a.MapGroup("/parent").RateLimit("2/minute");
                parent.MapGroup("/child").MapGroup("/grandchild").MapGet("/a", () => "a");
            });

        Assert.Equal("200 200", await StatusesAsync(app.Client, "/parent/child/grandchild/a", 2));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/parent/child/grandchild/a"));
    }

    [Fact]
    public async Task A_nested_group_whose_limits_override_the_defaults_hides_the_limits_of_the_group_around_it()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute"),
            a =>
            {
                var parent = a.MapGroup("/parent").RateLimit("2/minute");
                parent.MapGet("/a", () => "a");
                parent.MapGroup("/child").RateLimit("4/minute").MapGet("/a", () => "a");
            });

        Assert.Equal("200 200 200 200", await StatusesAsync(app.Client, "/parent/child/a", 4));
        Assert.Equal("429 4 per 1 minute", await OutcomeAsync(app.Client, "/parent/child/a"));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/parent/a", 3));
    }

    // Flask-Limiter's recipe for nested blueprints promises the defaults as well, but its code and tests leave them out
    // because the inherited parent limit overrides them; the code is what is ported.
    [Fact]
    public async Task A_nested_group_adding_to_an_overriding_parent_gets_both_group_limits_but_not_the_defaults()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("3/hour");
                o.ApplicationLimits.Add("100/minute");
            },
            a =>
            {
                var parent = a.MapGroup("/parent").RateLimit("2/minute");
                parent.MapGroup("/child").RateLimit("1/second", l => l.OverrideDefaults(false)).MapGet("/a", () => "a");
            });

        Assert.Equal("200", await OutcomeAsync(app.Client, "/parent/child/a"));
        Assert.Equal("429 1 per 1 second", await OutcomeAsync(app.Client, "/parent/child/a"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/parent/child/a"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/parent/child/a"));

        // A 3/hour default would reject the second of these, the fourth request let through.
        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/parent/child/a"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/parent/child/a"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/parent/child/a"));
    }

    [Fact]
    public async Task Application_limits_still_apply_inside_nested_groups_with_limits()
    {
        await using var app = await StartAsync(
            o => o.ApplicationLimits.Add("2/minute"),
            a =>
            {
                var parent = a.MapGroup("/parent").RateLimit("10/minute");
                parent.MapGroup("/child").RateLimit("10/second", l => l.OverrideDefaults(false)).MapGet("/a", () => "a");
                a.MapGet("/outside", () => "o");
            });

        Assert.Equal("200", await OutcomeAsync(app.Client, "/outside"));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/parent/child/a"));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/parent/child/a"));
    }

    [Fact]
    public async Task An_endpoint_limit_hides_its_group_limits_unless_it_does_not_override_the_defaults()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute"),
            a =>
            {
                var group = a.MapGroup("/g").RateLimit("2/minute");
                group.MapGet("/own", () => "o").RateLimit("3/minute");
                group.MapGet("/added", () => "a").RateLimit("5/minute", l => l.OverrideDefaults(false));
            });

        Assert.Equal("200 200 200 429", await StatusesAsync(app.Client, "/g/own", 4));

        // The group limit overrides the defaults, so adding to it brings the group limit in but not the 1/minute default.
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/g/added", 2));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/g/added"));
    }

    [Fact]
    public async Task An_exempt_group_and_its_nested_groups_are_not_limited_at_all()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("1/minute");
                o.ApplicationLimits.Add("1/minute");
                o.MetaLimits.Add("1/hour");
            },
            a =>
            {
                var health = a.MapGroup("/health").RateLimit("1/minute").ExemptFromRateLimits();
                health.MapGet("/a", () => "a");
                health.MapGroup("/deep").MapGroup("/deeper").MapGet("/a", () => "a");
                a.MapGet("/outside", () => "o");
            });

        // Exhaust the application limit and trip the meta limit, which would stop every limited request.
        Assert.Equal("200 429 429", await StatusesAsync(app.Client, "/outside", 3));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("1/hour", 0));
        Assert.Equal("429 1 per 1 hour", await OutcomeAsync(app.Client, "/outside"));

        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/health/a", 3));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/health/deep/deeper/a", 3));
    }

    [Fact]
    public async Task A_nested_group_keeps_its_own_limits_inside_an_exempt_group()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("1/minute");
                o.ApplicationLimits.Add("1/minute");
            },
            a =>
            {
                var outer = a.MapGroup("/outer").ExemptFromRateLimits();
                outer.MapGroup("/limited").RateLimit("2/minute").MapGet("/a", () => "a");
                a.MapGet("/outside", () => "o");
            });

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/outside", 2));

        // Neither the exhausted application limit nor the 1/minute default reaches it; its own 2/minute does.
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/outer/limited/a", 2));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/outer/limited/a"));
    }

    [Fact]
    public async Task A_default_exemption_keeps_application_and_group_limits()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("1/minute");
                o.ApplicationLimits.Add("5/minute");
            },
            a =>
            {
                var plain = a.MapGroup("/plain").ExemptFromRateLimits(ExemptionScope.Default);
                plain.MapGet("/a", () => "a");
                plain.MapGroup("/nested").MapGet("/a", () => "a");
                a.MapGroup("/limited")
                    .ExemptFromRateLimits(ExemptionScope.Default)
                    .RateLimit("1/second", l => l.OverrideDefaults(false))
                    .MapGet("/a", () => "a");
            });

        // A 1/minute default would have stopped the second request of each.
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/plain/a", 2));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/plain/nested/a"));

        // The group limit adds to the defaults, yet the exemption keeps them out.
        Assert.Equal("200", await OutcomeAsync(app.Client, "/limited/a"));
        Assert.Equal("429 1 per 1 second", await OutcomeAsync(app.Client, "/limited/a"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/limited/a"));

        Assert.Equal("429 5 per 1 minute", await OutcomeAsync(app.Client, "/plain/nested/a"));
    }

    [Fact]
    public async Task An_application_exemption_keeps_the_defaults()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("2/minute");
                o.ApplicationLimits.Add("1/minute");
            },
            a =>
            {
                var group = a.MapGroup("/g").ExemptFromRateLimits(ExemptionScope.Application);
                group.MapGet("/a", () => "a");
                group.MapGroup("/nested").MapGet("/a", () => "a");
                a.MapGet("/outside", () => "o");
            });

        Assert.Equal("200", await OutcomeAsync(app.Client, "/outside"));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/outside"));

        Assert.Equal("200 200", await StatusesAsync(app.Client, "/g/a", 2));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/g/a"));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/g/nested/a", 2));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/g/nested/a"));
    }

    [Fact]
    public async Task A_meta_exemption_skips_the_meta_test_and_the_group_limits_but_keeps_the_defaults()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("1/minute");
                o.MetaLimits.Add("1/hour");
            },
            a =>
            {
                var group = a.MapGroup("/g").RateLimit("5/minute").ExemptFromRateLimits(ExemptionScope.Meta);
                group.MapGet("/a", () => "a");
                group.MapGroup("/nested").MapGet("/a", () => "a");
                a.MapGet("/outside", () => "o");
            });

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/outside", 2));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("1/hour", 0));
        Assert.Equal("429 1 per 1 hour", await OutcomeAsync(app.Client, "/outside"));

        // Not stopped by the meta limit; limited by the 1/minute default, not by the group's 5/minute.
        Assert.Equal("200", await OutcomeAsync(app.Client, "/g/a"));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/g/a"));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/g/nested/a"));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/g/nested/a"));
    }

    [Fact]
    public async Task A_descendants_exemption_keeps_the_group_limits_from_its_endpoints_and_nested_groups()
    {
        await using var app = await StartAsync(
            o => o.DefaultLimits.Add("1/minute"),
            a =>
            {
                var outer = a.MapGroup("/outer").RateLimit("5/minute").ExemptFromRateLimits(ExemptionScope.Descendants);
                outer.MapGet("/a", () => "a");
                outer.MapGroup("/plain").MapGet("/a", () => "a");
                outer.MapGroup("/limited").RateLimit("3/minute").MapGet("/a", () => "a");
            });

        Assert.Equal("200", await OutcomeAsync(app.Client, "/outer/a"));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/outer/a"));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/outer/plain/a"));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/outer/plain/a"));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/outer/limited/a", 3));
        Assert.Equal("429 3 per 1 minute", await OutcomeAsync(app.Client, "/outer/limited/a"));
    }

    [Fact]
    public async Task An_ancestors_exemption_keeps_the_outer_group_limits_from_a_nested_group()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("3/minute");
                o.ApplicationLimits.Add("2/second");
            },
            a =>
            {
                var outer = a.MapGroup("/outer").RateLimit("1/minute");
                outer.MapGet("/a", () => "a");
                var plain = outer.MapGroup("/plain").ExemptFromRateLimits(ExemptionScope.Ancestors);
                plain.MapGet("/a", () => "a");
                outer.MapGroup("/limited")
                    .ExemptFromRateLimits(ExemptionScope.Ancestors)
                    .RateLimit("5/minute", l => l.OverrideDefaults(false))
                    .MapGet("/a", () => "a");
            });

        Assert.Equal("200", await OutcomeAsync(app.Client, "/outer/a"));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/outer/a"));

        // Without the outer 1/minute, the defaults are back; the application limit was never lifted.
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/outer/plain/a", 2));
        Assert.Equal("429 2 per 1 second", await OutcomeAsync(app.Client, "/outer/plain/a"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/outer/plain/a"));
        Assert.Equal("429 3 per 1 minute", await OutcomeAsync(app.Client, "/outer/plain/a"));

        // Its own limit adds to the defaults, and the outer 1/minute stays out.
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/outer/limited/a", 2));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/outer/limited/a"));
        Assert.Equal("429 3 per 1 minute", await OutcomeAsync(app.Client, "/outer/limited/a"));
    }

    [Fact]
    public async Task An_exempt_endpoint_ignores_its_own_limits()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("1/minute");
                o.ApplicationLimits.Add("1/minute");
            },
            a =>
            {
                a.MapGet("/exempt", () => "e").RateLimit("1/minute").ExemptFromRateLimits();
                a.MapGet("/outside", () => "o");
            });

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/outside", 2));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/exempt", 3));
    }

    [Fact]
    public async Task An_endpoint_exempt_from_application_limits_ignores_its_own_limits_but_keeps_the_defaults()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.DefaultLimits.Add("3/minute");
                o.ApplicationLimits.Add("1/minute");
            },
            a =>
            {
                a.MapGet("/a", () => "a").ExemptFromRateLimits(ExemptionScope.Application).RateLimit("1/minute");
                a.MapGet("/outside", () => "o");
            });

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/outside", 2));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/a", 3));
        Assert.Equal("429 3 per 1 minute", await OutcomeAsync(app.Client, "/a"));
    }

    /// <summary>The status code, and for a problem response its detail: <c>200</c> or <c>429 1 per 1 minute</c>.</summary>
    private static async Task<string> OutcomeAsync(HttpClient client, string path)
    {
        using var response = await SendAsync(client, path);
        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return status;
        }

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return $"{status} {body.RootElement.GetProperty("detail").GetString()}";
    }

    private sealed record Marker(string Name);
}

public sealed class GroupExemptionTestsOnMemory() : GroupExemptionTests(Backend.Memory);

public sealed class GroupExemptionTestsOnGrains() : GroupExemptionTests(Backend.Grains);
