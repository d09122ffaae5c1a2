using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore.Tests;

public abstract class HeaderTests(Backend backend) : AdapterTestBase(backend)
{
    // The fake clock starts at 12:00:00.250, so a reset is reported as this whole second plus an offset.
    private static readonly long StartSecond = TestApp.Start.ToUnixTimeSeconds();

    [Fact]
    public async Task Headers_describe_the_limit_on_success_and_on_429()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.DefaultLimits.Add("1/minute");
            },
            a => a.MapGet("/t", () => "t"));

        Assert.Equal(Expected(200, "1", "0", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(Expected(429, "1", "0", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
        app.Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(Expected(429, "1", "0", 61, "50"), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task Retry_after_can_be_an_http_date()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.RetryAfterFormat = RetryAfterFormat.HttpDate;
                o.DefaultLimits.Add("1/minute");
            },
            a => a.MapGet("/t", () => "t"));

        Assert.Equal(Expected(200, "1", "0", 61, "Mon, 23 Nov 2026 12:01:01 GMT"), await XRateLimitAsync(app.Client, "/t"));
        app.Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(Expected(429, "1", "0", 61, "Mon, 23 Nov 2026 12:01:01 GMT"), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task No_headers_on_exempt_filtered_or_unrouted_requests()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.DefaultLimits.Add("1/minute");
                o.RequestFilters.Add(c => c.Request.Headers.ContainsKey("X-Internal"));
            },
            a =>
            {
                a.MapGet("/t", () => "t");
                a.MapGet("/exempt", () => "e").ExemptFromRateLimits();
            });

        Assert.Equal(NoHeaders(200), await XRateLimitAsync(app.Client, "/exempt"));
        Assert.Equal(NoHeaders(200), await XRateLimitAsync(app.Client, "/t", ("X-Internal", "1")));
        Assert.Equal(NoHeaders(404), await XRateLimitAsync(app.Client, "/missing"));
        Assert.Equal(Expected(200, "1", "0", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task No_headers_on_endpoints_without_an_applicable_limit()
    {
        await using var app = await StartAsync(
            o => o.HeadersEnabled = true,
            a =>
            {
                a.MapGet("/plain", () => "p");
                a.MapMethods("/post-only", ["GET", "POST"], () => "p").RateLimit("1/minute", l => l.Methods("POST"));
            });

        Assert.Equal(NoHeaders(200), await XRateLimitAsync(app.Client, "/plain"));
        Assert.Equal(NoHeaders(200), await XRateLimitAsync(app.Client, "/post-only"));
        Assert.Equal(NoHeaders(200), await XRateLimitAsync(app.Client, "/post-only"));
    }

    [Fact]
    public async Task No_headers_when_they_are_not_enabled()
    {
        await using var app = await StartAsync(o => o.DefaultLimits.Add("1/minute"), a => a.MapGet("/t", () => "t"));

        Assert.Equal(NoHeaders(200), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(NoHeaders(429), await XRateLimitAsync(app.Client, "/t"));
    }

    [Theory]
    [InlineData("120", "120")]
    [InlineData("30", "60")]
    [InlineData("Mon, 23 Nov 2026 12:05:00 GMT", "299")]
    [InlineData("Mon, 23 Nov 2026 12:00:30 GMT", "60")]
    public async Task The_later_of_the_endpoint_retry_after_and_the_reset_is_written_in_seconds(string fromEndpoint, string expected)
    {
        await using var app = await StartRetryAfterAppAsync(RetryAfterFormat.DeltaSeconds, fromEndpoint);

        // The endpoint's 12:05:00 is 299.75 s after the clock's 12:00:00.250, and whole seconds are truncated.
        Assert.Equal(Expected(200, "10", "9", 61, expected), await XRateLimitAsync(app.Client, "/t"));
    }

    [Theory]
    [InlineData("Mon, 23 Nov 2026 12:05:00 GMT", "Mon, 23 Nov 2026 12:05:00 GMT")]
    [InlineData("Mon, 23 Nov 2026 12:00:30 GMT", "Mon, 23 Nov 2026 12:01:01 GMT")]
    [InlineData("600", "Mon, 23 Nov 2026 12:10:00 GMT")]
    [InlineData("5", "Mon, 23 Nov 2026 12:01:01 GMT")]
    public async Task The_later_of_the_endpoint_retry_after_and_the_reset_is_written_as_a_date(string fromEndpoint, string expected)
    {
        await using var app = await StartRetryAfterAppAsync(RetryAfterFormat.HttpDate, fromEndpoint);

        Assert.Equal(Expected(200, "10", "9", 61, expected), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task Header_names_can_be_changed()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.HeaderNames.Limit = "RateLimit-Limit";
                o.HeaderNames.Remaining = "RateLimit-Remaining";
                o.HeaderNames.Reset = "RateLimit-Reset";
                o.HeaderNames.RetryAfter = "RateLimit-Retry-After";
                o.DefaultLimits.Add("2/minute");
            },
            a => a.MapGet("/t", () => "t"));

        using var response = await SendAsync(app.Client, "/t");

        Assert.Equal("2", Header(response, "RateLimit-Limit"));
        Assert.Equal("1", Header(response, "RateLimit-Remaining"));
        Assert.Equal(Reset(61), Header(response, "RateLimit-Reset"));
        Assert.Equal("60", Header(response, "RateLimit-Retry-After"));
        Assert.Null(Header(response, "X-RateLimit-Limit"));
        Assert.Null(Header(response, "X-RateLimit-Remaining"));
        Assert.Null(Header(response, "X-RateLimit-Reset"));
        Assert.Null(Header(response, "Retry-After"));
    }

    [Fact]
    public async Task Headers_show_the_limit_with_the_smallest_granularity_when_none_is_breached()
    {
        await using var app = await StartAsync(
            o => o.HeadersEnabled = true,
            a => a.MapGet("/t", () => "t").RateLimit("10/minute;1/second"));

        Assert.Equal(Expected(200, "1", "0", 2, "1"), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(Expected(429, "1", "0", 2, "1"), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task Headers_show_the_breached_limit()
    {
        await using var app = await StartAsync(
            o => o.HeadersEnabled = true,
            a => a.MapGet("/t", () => "t").RateLimit("1/minute;5/second"));

        Assert.Equal(Expected(200, "5", "4", 2, "1"), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(Expected(429, "1", "0", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task Headers_prefer_a_non_shared_limit_over_a_shared_one()
    {
        await using var app = await StartAsync(
            o => o.HeadersEnabled = true,
            a => a.MapGet("/t", () => "t").SharedRateLimit("5/second", "pool").RateLimit("10/minute"));

        Assert.Equal(Expected(200, "10", "9", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task A_decorated_route_shows_its_own_limit_unless_the_application_limit_rejects()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.ApplicationLimits.Add("3/minute");
            },
            a => a.MapGet("/t", () => "t").RateLimit("10/hour"));

        Assert.Equal(Expected(200, "10", "9", 3601, "3600"), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(Expected(200, "10", "8", 3601, "3600"), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(Expected(200, "10", "7", 3601, "3600"), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(Expected(429, "3", "0", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task An_undecorated_route_shows_the_default_limit_rather_than_the_shared_application_limit()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.ApplicationLimits.Add("3/minute");
                o.DefaultLimits.Add("10/minute");
            },
            a =>
            {
                a.MapGet("/t", () => "t");
                a.MapGet("/only-application", () => "a").ExemptFromRateLimits(ExemptionScope.Default);
            });

        Assert.Equal(Expected(200, "10", "9", 61, "60"), await XRateLimitAsync(app.Client, "/t"));

        // With no non-shared limit left, the application limit itself is shown.
        Assert.Equal(Expected(200, "3", "1", 61, "60"), await XRateLimitAsync(app.Client, "/only-application"));
    }

    [Fact]
    public async Task A_meta_breach_shows_the_meta_limit()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.MetaLimits.Add("2/hour");
                o.DefaultLimits.Add("1/minute");
            },
            a => a.MapGet("/t", () => "t"));

        Assert.Equal(Expected(200, "1", "0", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(Expected(429, "1", "0", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("2/hour", 1));
        Assert.Equal(Expected(429, "1", "0", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
        await MetaBreachesCountedAsync(app, "127.0.0.1", ("2/hour", 0));

        // Two breaches fill the meta window that began with the first of them, at 12:00:00.250.
        app.Clock.Advance(TimeSpan.FromSeconds(70));
        Assert.Equal(Expected(429, "2", "0", 3601, "3530"), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task Deduct_when_deductions_are_counted_in_the_same_response()
    {
        await using var app = await StartAsync(
            o => o.HeadersEnabled = true,
            a => a.MapGet("/t", (HttpContext c) => c.Request.Query.ContainsKey("fail") ? Results.BadRequest() : Results.Ok("t"))
                .RateLimit("5/minute", l => l.DeductWhen(r => r.StatusCode == StatusCodes.Status200OK)));

        Assert.Equal(Expected(200, "5", "4", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(Expected(400, "5", "4", 61, "60"), await XRateLimitAsync(app.Client, "/t?fail=1"));
        Assert.Equal(Expected(200, "5", "3", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task A_slow_endpoint_shows_the_window_that_began_while_it_ran()
    {
        TestApp? running = null;
        await using var app = await StartAsync(
            o => o.HeadersEnabled = true,
            a => a.MapGet("/slow", () =>
            {
                running!.Clock.Advance(TimeSpan.FromMilliseconds(1100));
                return "slow";
            }).RateLimit("5/second"));
        running = app;

        // The window of the hit ended at 12:00:01.250 and the response starts at 12:00:01.350: a fresh window, reset now.
        Assert.Equal(Expected(200, "5", "5", 2, "0"), await XRateLimitAsync(app.Client, "/slow"));
    }

    [Fact]
    public async Task Ietf_fields_list_every_evaluated_limit_next_to_the_x_ratelimit_fields()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.HeaderFields = RateLimitHeaderFields.Both;
            },
            a => a.MapGet("/t", () => "t").RateLimit("1/second;10/minute"));

        using (var ok = await SendAsync(app.Client, "/t"))
        {
            Assert.Equal(Expected(200, "1", "0", 2, "1"), Describe(ok));
            Assert.Equal("\"/t 1 per 1 second\";q=1;w=1, \"/t 10 per 1 minute\";q=10;w=60", Header(ok, "RateLimit-Policy"));
            Assert.Equal("\"/t 1 per 1 second\";r=0;t=1, \"/t 10 per 1 minute\";r=9;t=60", Header(ok, "RateLimit"));
        }

        // Evaluation stopped at the broken 1/second, so the 10/minute limit was not evaluated for this request.
        using var rejected = await SendAsync(app.Client, "/t");
        Assert.Equal(Expected(429, "1", "0", 2, "1"), Describe(rejected));
        Assert.Equal("\"/t 1 per 1 second\";q=1;w=1", Header(rejected, "RateLimit-Policy"));
        Assert.Equal("\"/t 1 per 1 second\";r=0;t=1", Header(rejected, "RateLimit"));
    }

    [Fact]
    public async Task Ietf_fields_alone_write_retry_after_only_on_429()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.HeaderFields = RateLimitHeaderFields.IetfDraft;
                o.DefaultLimits.Add("1/minute");
            },
            a => a.MapGet("/t", () => "t"));

        using (var ok = await SendAsync(app.Client, "/t"))
        {
            Assert.Equal(NoHeaders(200), Describe(ok));
            Assert.Equal("\"/t 1 per 1 minute\";q=1;w=60", Header(ok, "RateLimit-Policy"));
            Assert.Equal("\"/t 1 per 1 minute\";r=0;t=60", Header(ok, "RateLimit"));
        }

        app.Clock.Advance(TimeSpan.FromSeconds(15));
        using var rejected = await SendAsync(app.Client, "/t");
        Assert.Equal("status=429 limit= remaining= reset= retry-after=45", Describe(rejected));
        Assert.Equal("\"/t 1 per 1 minute\";q=1;w=60", Header(rejected, "RateLimit-Policy"));
        Assert.Equal("\"/t 1 per 1 minute\";r=0;t=45", Header(rejected, "RateLimit"));
    }

    [Fact]
    public async Task Moving_window_headers_reset_when_the_oldest_hit_ages_out()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.Strategy = RateLimitStrategy.MovingWindow;
                o.DefaultLimits.Add("2/minute");
            },
            a => a.MapGet("/t", () => "t"));

        Assert.Equal(Expected(200, "2", "1", 61, "60"), await XRateLimitAsync(app.Client, "/t"));
        app.Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(Expected(200, "2", "0", 61, "50"), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(Expected(429, "2", "0", 61, "50"), await XRateLimitAsync(app.Client, "/t"));

        // The first hit ages out at 12:01:00.250; the hit of 12:00:10.250 is now the oldest.
        app.Clock.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(Expected(200, "2", "0", 71, "10"), await XRateLimitAsync(app.Client, "/t"));
    }

    [Fact]
    public async Task Sliding_window_counter_headers_estimate_when_the_next_unit_frees_up()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.Strategy = RateLimitStrategy.SlidingWindowCounter;
                o.DefaultLimits.Add("2/minute");
            },
            a => a.MapGet("/t", () => "t"));

        // The original's estimate: now + (time left of the current counter mod period), which is 0 right at the first hit.
        Assert.Equal(Expected(200, "2", "1", 1, "0"), await XRateLimitAsync(app.Client, "/t"));
        app.Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(Expected(200, "2", "0", 61, "50"), await XRateLimitAsync(app.Client, "/t"));
        Assert.Equal(Expected(429, "2", "0", 61, "50"), await XRateLimitAsync(app.Client, "/t"));

        // 30 s into the second period the previous period's 2 hits weigh 1: one unit is free again.
        app.Clock.Advance(TimeSpan.FromSeconds(80));
        Assert.Equal(Expected(200, "2", "0", 91, "0"), await XRateLimitAsync(app.Client, "/t"));
    }

    private Task<TestApp> StartRetryAfterAppAsync(RetryAfterFormat format, string fromEndpoint) =>
        StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.RetryAfterFormat = format;
                o.DefaultLimits.Add("10/minute");
            },
            a => a.MapGet("/t", (HttpContext c) =>
            {
                c.Response.Headers.RetryAfter = fromEndpoint;
                return "t";
            }));

    private static async Task<string> XRateLimitAsync(HttpClient client, string path, params (string Name, string Value)[] headers)
    {
        using var response = await SendAsync(client, path, null, headers);
        return Describe(response);
    }

    private static string Describe(HttpResponseMessage response) =>
        $"status={(int)response.StatusCode} limit={Header(response, "X-RateLimit-Limit")} remaining={Header(response, "X-RateLimit-Remaining")} " +
        $"reset={Header(response, "X-RateLimit-Reset")} retry-after={Header(response, "Retry-After")}";

    private static string Expected(int status, string limit, string remaining, int resetAfterStartSecond, string retryAfter) =>
        $"status={status} limit={limit} remaining={remaining} reset={Reset(resetAfterStartSecond)} retry-after={retryAfter}";

    private static string NoHeaders(int status) => $"status={status} limit= remaining= reset= retry-after=";

    private static string Reset(int secondsAfterStartSecond) =>
        (StartSecond + secondsAfterStartSecond).ToString(CultureInfo.InvariantCulture);
}

public sealed class HeaderTestsOnMemory() : HeaderTests(Backend.Memory);

public sealed class HeaderTestsOnGrains() : HeaderTests(Backend.Grains);
