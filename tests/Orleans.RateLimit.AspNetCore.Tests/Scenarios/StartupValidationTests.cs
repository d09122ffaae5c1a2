using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>Mistakes that must stop the app from starting; none of them depends on where windows are counted.</summary>
public sealed class StartupValidationTests() : AdapterTestBase(Backend.Memory)
{
    private const string Periods = "use second, minute, hour, day, month or year (singular or plural).";

    [Fact]
    public async Task A_malformed_limit_in_code_fails_the_start()
    {
        var e = await StartFailsAsync(o => o.DefaultLimits.Add("2/sec"));

        Assert.IsType<FormatException>(e);
        Assert.Equal($"Couldn't parse rate limit string '2/sec': unknown period 'sec' at position 3; {Periods}", e.Message);
    }

    [Theory]
    [InlineData("RateLimit:DefaultLimits", "10/fortnight",
        $"RateLimit:DefaultLimits: Couldn't parse rate limit string '10/fortnight': unknown period 'fortnight' at position 4; {Periods}")]
    [InlineData("RateLimit:ApplicationLimits:0", "5/fortnight",
        $"RateLimit:ApplicationLimits: Couldn't parse rate limit string '5/fortnight': unknown period 'fortnight' at position 3; {Periods}")]
    [InlineData("RateLimit:MetaLimits", "3 hour",
        "RateLimit:MetaLimits: Couldn't parse rate limit string '3 hour': expected '/' or 'per' after the amount at position 3, found 'h'.")]
    [InlineData("RateLimit:Strategy", "token-bucket",
        "Configuration value RateLimit:Strategy 'token-bucket' is not one of FixedWindow, MovingWindow, SlidingWindowCounter.")]
    [InlineData("RateLimit:Backend", "Redis",
        "Configuration value RateLimit:Backend 'Redis' is not one of Orleans, Memory.")]
    [InlineData("RateLimit:RetryAfterFormat", "1",
        "Configuration value RateLimit:RetryAfterFormat '1' is not one of DeltaSeconds, HttpDate.")]
    [InlineData("RateLimit:HeadersEnabled", "yes",
        "Configuration value RateLimit:HeadersEnabled 'yes' is not true or false.")]
    [InlineData("RateLimit:DefaultLimitsCost", "-1",
        "Configuration value RateLimit:DefaultLimitsCost '-1' is not a cost; use a whole number of 0 or more.")]
    [InlineData("RateLimit:KeyHeader", " ",
        "Configuration value RateLimit:KeyHeader ' ' is empty.")]
    [InlineData("RateLimit:HeadersEnabeld", "true",
        "Configuration value RateLimit:HeadersEnabeld 'true' is not a rate-limit option.")]
    [InlineData("RateLimit:HeaderNames:Limt", "X-Limit",
        "Configuration value RateLimit:HeaderNames:Limt 'X-Limit' is not a header name option; use Limit, Remaining, Reset or RetryAfter.")]
    [InlineData("RateLimit:InMemoryFallback", "5 per fortnight",
        $"RateLimit:InMemoryFallback: Couldn't parse rate limit string '5 per fortnight': unknown period 'fortnight' at position 7; {Periods}")]
    [InlineData("RateLimit:InMemoryFallbackEnabled", "1",
        "Configuration value RateLimit:InMemoryFallbackEnabled '1' is not true or false.")]
    [InlineData("RateLimit:FailureMode", "Ignore",
        "Configuration value RateLimit:FailureMode 'Ignore' is not one of FallbackToMemory, FailOpen, FailClosed.")]
    [InlineData("RateLimit:Leasing", "Sometimes",
        "Configuration value RateLimit:Leasing 'Sometimes' is not one of Auto, Always, Never.")]
    [InlineData("RateLimit:GrainCallTimeout", "50ms",
        "Configuration value RateLimit:GrainCallTimeout '50ms' is not a positive duration; use hh:mm:ss.fff, e.g. 00:00:00.050.")]
    [InlineData("RateLimit:GrainCallTimeout", "00:00:00",
        "Configuration value RateLimit:GrainCallTimeout '00:00:00' is not a positive duration; use hh:mm:ss.fff, e.g. 00:00:00.050.")]
    [InlineData("RateLimit:CircuitBreakerThreshold", "0",
        "Configuration value RateLimit:CircuitBreakerThreshold '0' is not a count; use a whole number of 1 or more.")]
    [InlineData("RateLimit:CircuitBreakerDuration", "1s",
        "Configuration value RateLimit:CircuitBreakerDuration '1s' is not a duration of zero or more; use hh:mm:ss.fff, e.g. 00:00:01.")]
    [InlineData("RateLimit:CircuitBreakerDuration", "-00:00:01",
        "Configuration value RateLimit:CircuitBreakerDuration '-00:00:01' is not a duration of zero or more; use hh:mm:ss.fff, e.g. 00:00:01.")]
    [InlineData("RateLimit:CircuitBreakerDuration", "00:05:00",
        "RateLimitOptions.CircuitBreakerDuration (00:05:00) must be from zero to 00:01:00.")]
    [InlineData("RateLimit:CircuitBreakerDurtion", "00:00:01",
        "Configuration value RateLimit:CircuitBreakerDurtion '00:00:01' is not a rate-limit option.")]
    public async Task A_bad_configuration_value_fails_the_start_naming_its_path(string path, string value, string message)
    {
        var e = await StartFailsAsync(null, builder: b => b.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [path] = value }));

        Assert.IsType<OptionsValidationException>(e);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public async Task Bad_resilience_settings_in_code_fail_the_start_naming_each()
    {
        var e = await StartFailsAsync(o =>
        {
            o.GrainCallTimeout = TimeSpan.FromMinutes(1);
            o.CircuitBreakerThreshold = 0;
            o.CircuitBreakerDuration = TimeSpan.FromMilliseconds(-1);
            o.FailureMode = (RateLimitFailureMode)7;
            o.Leasing = (RateLimitLeasing)5;
        });

        var failures = Assert.IsType<OptionsValidationException>(e).Failures.ToList();
        Assert.Equal(
            [
                "RateLimitOptions.FailureMode (7) is not a failure mode.",
                "RateLimitOptions.Leasing (5) is not a leasing mode.",
                "RateLimitOptions.GrainCallTimeout (00:01:00) must be more than zero and at most 00:00:30.",
                "RateLimitOptions.CircuitBreakerThreshold (0) must be 1 or more.",
                "RateLimitOptions.CircuitBreakerDuration (-00:00:00.0010000) must be from zero to 00:01:00.",
            ],
            failures);
    }

    [Fact]
    public async Task Resilience_settings_come_from_configuration()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/t", () => "t"),
            b => b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["RateLimit:InMemoryFallbackEnabled"] = "false",
                ["RateLimit:InMemoryFallback:0"] = "5/minute",
                ["RateLimit:InMemoryFallback:1"] = "100/hour",
                ["RateLimit:FailureMode"] = "FailClosed",
                ["RateLimit:GrainCallTimeout"] = "00:00:00.120",
                ["RateLimit:CircuitBreakerThreshold"] = "5",
                ["RateLimit:CircuitBreakerDuration"] = "00:00:02.500",
                ["RateLimit:Leasing"] = "never",
            }));

        var options = app.Services.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        Assert.False(options.InMemoryFallbackEnabled);
        Assert.Equal(["5 per 1 minute", "100 per 1 hour"], options.InMemoryFallback.SelectMany(v => v.Items).Select(i => i.ToString()));
        Assert.Equal(RateLimitFailureMode.FailClosed, options.FailureMode);
        Assert.Equal(TimeSpan.FromMilliseconds(120), options.GrainCallTimeout);
        Assert.Equal(5, options.CircuitBreakerThreshold);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), options.CircuitBreakerDuration);
        Assert.Equal(RateLimitLeasing.Never, options.Leasing);
    }

    [Fact]
    public void By_default_an_unreachable_cluster_is_counted_in_memory_and_the_circuit_waits_for_a_second_of_failures()
    {
        var options = new RateLimitOptions();

        Assert.True(options.InMemoryFallbackEnabled);
        Assert.Equal(RateLimitFailureMode.FallbackToMemory, options.FailureMode);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.GrainCallTimeout);
        Assert.Equal(3, options.CircuitBreakerThreshold);
        Assert.Equal(TimeSpan.FromSeconds(1), options.CircuitBreakerDuration);
        Assert.Equal(RateLimitLeasing.Auto, options.Leasing);
    }

    [Fact]
    public void A_failure_mode_that_is_not_one_throws_where_it_is_set()
    {
        var builder = WebApplication.CreateBuilder();
        using var app = builder.Build();

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => app.MapGet("/t", () => "t").RateLimit("1/second", l => l.FailureMode((RateLimitFailureMode)9)));

        Assert.StartsWith("Not a rate-limit failure mode.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_header_name_in_code_fails_the_start()
    {
        var e = await StartFailsAsync(o => o.HeaderNames.Remaining = "X Remaining");

        Assert.IsType<OptionsValidationException>(e);
        Assert.Equal("RateLimitOptions.HeaderNames.Remaining ('X Remaining') is not a valid header name.", e.Message);
    }

    [Fact]
    public async Task A_malformed_endpoint_convention_throws_where_it_is_mapped()
    {
        var e = await StartFailsAsync(null, a => a.MapGet("/t", () => "t").RateLimit("1/minit"));

        Assert.IsType<FormatException>(e);
        Assert.Equal($"Couldn't parse rate limit string '1/minit': unknown period 'minit' at position 3; {Periods}", e.Message);
    }

    [Fact]
    public async Task A_malformed_attribute_on_a_handler_fails_the_start()
    {
        var e = await StartFailsAsync(null, a => a.MapGet("/x", [RateLimit("5 per fortnight")] () => "x"));

        Assert.IsType<InvalidOperationException>(e);
        Assert.Equal(
            "Invalid rate limit on endpoint 'HTTP: GET /x': Invalid limit in [RateLimit(\"5 per fortnight\")]: "
            + $"Couldn't parse rate limit string '5 per fortnight': unknown period 'fortnight' at position 7; {Periods}",
            e.Message);
    }

    [Fact]
    public async Task The_orleans_backend_without_a_grain_factory_fails_the_start()
    {
        var e = await StartFailsAsync(o => o.Backend = RateLimitBackend.Orleans);

        Assert.IsType<InvalidOperationException>(e);
        Assert.Equal(
            "The Orleans rate-limit backend needs an IGrainFactory: host a silo with builder.UseOrleans(silo => silo.AddRateLimitGrains()), "
            + "or connect to a cluster with builder.UseOrleansClient(...); or set RateLimit:Backend to Memory for a single node.",
            e.Message);
    }

    [Fact]
    public void Adding_the_limiter_twice_throws()
    {
        var services = new ServiceCollection();
        services.AddOrleansRateLimiting();

        var e = Assert.Throws<InvalidOperationException>(() => services.AddOrleansRateLimiting(o => o.HeadersEnabled = true));
        Assert.Equal("AddOrleansRateLimiting() was called twice; configure the limiter in one call.", e.Message);
    }

    [Fact]
    public async Task Using_the_middleware_without_its_services_throws()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(Backend.Memory, null, app =>
        {
            app.UseOrleansRateLimiting();
            app.MapGet("/t", () => "t");
        }));

        Assert.Equal("UseOrleansRateLimiting() needs the limiter's services: call builder.Services.AddOrleansRateLimiting() first.", e.Message);
    }

    private async Task<Exception> StartFailsAsync(
        Action<RateLimitOptions>? configure,
        Action<WebApplication>? map = null,
        Action<WebApplicationBuilder>? builder = null)
    {
        return await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = await StartAsync(configure, map ?? (a => a.MapGet("/t", () => "t")), builder);
        });
    }
}

/// <summary>The <c>RateLimit</c> configuration section reaches the limiter, and code configuration overrides it.</summary>
public abstract class StartupValidationConfigurationTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task Limits_headers_and_header_names_come_from_configuration()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/t", () => "t"),
            Configure(
                ("RateLimit:DefaultLimits", "1/minute"),
                ("RateLimit:HeadersEnabled", "true"),
                ("RateLimit:HeaderNames:Limit", "X-Limit")));

        using var ok = await SendAsync(app.Client, "/t");
        Assert.Equal(200, (int)ok.StatusCode);
        Assert.Equal("1", Header(ok, "X-Limit"));
        Assert.Null(Header(ok, "X-RateLimit-Limit"));
        Assert.Equal("0", Header(ok, "X-RateLimit-Remaining"));
        Assert.Equal("60", Header(ok, "Retry-After"));
        Assert.Equal("429", await StatusesAsync(app.Client, "/t", 1));
    }

    [Fact]
    public async Task Limits_in_configuration_may_be_an_array()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/t", () => "t"),
            Configure(("RateLimit:ApplicationLimits:0", "3/minute"), ("RateLimit:ApplicationLimits:1", "1/second")));

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/t", 2));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/t", 2));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/t", 2));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("429", await StatusesAsync(app.Client, "/t", 1));
    }

    [Fact]
    public async Task The_strategy_comes_from_configuration_by_its_original_name()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/t", () => "t"),
            Configure(("RateLimit:DefaultLimits", "2/minute"), ("RateLimit:Strategy", "moving-window")));

        Assert.Equal("200", await StatusesAsync(app.Client, "/t", 1));
        app.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("200", await StatusesAsync(app.Client, "/t", 1));

        // A fixed window would start afresh now and admit two; the moving window still holds the hit of 30 s ago.
        app.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("200 429", await StatusesAsync(app.Client, "/t", 2));
    }

    [Fact]
    public async Task The_key_header_comes_from_configuration()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/t", () => "t"),
            Configure(("RateLimit:DefaultLimits", "1/minute"), ("RateLimit:KeyHeader", "X-Api-Key")));

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(app.Client, "/t", null, ("X-Api-Key", "alice")));
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(app.Client, "/t", null, ("X-Api-Key", "alice")));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(app.Client, "/t", null, ("X-Api-Key", "bob")));

        // Without the header there is no key, so the limit is skipped and the skip logged.
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/t", 2));
        Assert.Equal(
            ["Skipping limit: 1 per 1 minute. Empty value found in parameters.", "Skipping limit: 1 per 1 minute. Empty value found in parameters."],
            app.Logs.ForCategory("Orleans.RateLimit").Where(r => r.Level == LogLevel.Error).Select(r => r.Message));
    }

    [Fact]
    public async Task Code_configuration_wins_over_configuration_for_single_values()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeadersEnabled = true;
                o.Strategy = RateLimitStrategy.FixedWindow;
                o.HeaderNames.Limit = "X-Code-Limit";
                o.RetryAfterFormat = RetryAfterFormat.DeltaSeconds;
            },
            a => a.MapGet("/t", () => "t"),
            Configure(
                ("RateLimit:DefaultLimits", "2/minute"),
                ("RateLimit:HeadersEnabled", "false"),
                ("RateLimit:Strategy", "moving-window"),
                ("RateLimit:HeaderNames:Limit", "X-Config-Limit"),
                ("RateLimit:RetryAfterFormat", "http-date")));

        using var ok = await SendAsync(app.Client, "/t");
        Assert.Equal("2", Header(ok, "X-Code-Limit"));
        Assert.Null(Header(ok, "X-Config-Limit"));
        Assert.Equal("60", Header(ok, "Retry-After"));

        // A fixed window: the window of the first hit ends after 60 s and a new one admits two.
        app.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("200", await StatusesAsync(app.Client, "/t", 1));
        app.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/t", 3));
    }

    private static Action<WebApplicationBuilder> Configure(params (string Key, string Value)[] settings) =>
        b => b.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
}

public sealed class StartupValidationConfigurationTestsOnMemory() : StartupValidationConfigurationTests(Backend.Memory);

public sealed class StartupValidationConfigurationTestsOnGrains() : StartupValidationConfigurationTests(Backend.Grains);
