using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>Limit objects written in the <c>RateLimit</c> section beside plain strings.</summary>
public abstract class LimitObjectConfigurationTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task A_limit_object_carries_per_method_methods_cost_error_message_scope_and_shared()
    {
        await using var app = await StartWithAsync(
            a =>
            {
                a.MapMethods("/a", ["GET", "POST"], LimitObjectTests.Scopes);
                a.MapGet("/b", () => "b");
            },
            ("RateLimit:DefaultLimits:0:Limit", "3/minute"),
            ("RateLimit:DefaultLimits:0:PerMethod", "true"),
            ("RateLimit:DefaultLimits:0:Methods:0", "GET"),
            ("RateLimit:DefaultLimits:0:Cost", "2"),
            ("RateLimit:DefaultLimits:0:ErrorMessage", "slow down"),
            ("RateLimit:DefaultLimits:0:Scope", "api"),
            ("RateLimit:DefaultLimits:0:Shared", "true"));

        Assert.Equal("api:GET", await RouteLimitProbe.OkBodyAsync(app.Client, "/a"));
        Assert.Equal("slow down", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/b"));
        Assert.Equal(string.Empty, await RouteLimitProbe.OkBodyAsync(app.Client, "/a", HttpMethod.Post));
    }

    [Fact]
    public async Task The_originals_example_in_configuration()
    {
        await using var app = await StartWithAsync(
            a => a.MapGet("/a", () => "a"),
            ("RateLimit:DefaultLimits:0:Limit", "2/minute"),
            ("RateLimit:DefaultLimits:0:KeyHeader", "username"),
            ("RateLimit:DefaultLimits:1", "3/minute"));

        Assert.Equal("200 200", await StatusesForAsync(app, "alice", 2));
        Assert.Equal("2 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
        Assert.Equal("200", await StatusesForAsync(app, "bob", 1));
        Assert.Equal("3 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "carol")));
    }

    [Fact]
    public async Task Meta_limit_objects_in_configuration_have_their_own_key_scope_cost_and_message()
    {
        await using var app = await StartWithAsync(
            a => a.MapGet("/a", () => "a"),
            ("RateLimit:ApplicationLimits:0:Limit", "1/minute"),
            ("RateLimit:ApplicationLimits:0:KeyHeader", "username"),
            ("RateLimit:ApplicationLimits:0:Scope", "site"),
            ("RateLimit:ApplicationLimits:0:MetaLimits:0", "1/hour"),
            ("RateLimit:MetaLimits:0:Limit", "2/hour"),
            ("RateLimit:MetaLimits:0:KeyHeader", "username"),
            ("RateLimit:MetaLimits:0:Scope", "bans"),
            ("RateLimit:MetaLimits:0:Cost", "2"),
            ("RateLimit:MetaLimits:0:ErrorMessage", "banned"));

        Assert.Equal("200", await StatusesForAsync(app, "alice", 1));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
        await MetaBreachesCountedAsync(app, "alice", ("1/hour", 0));

        // The limiter's meta limit comes first: 1 breach and a cost of 2 are over 2.
        Assert.Equal("banned", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
        Assert.Equal("200", await StatusesForAsync(app, "bob", 1));
    }

    private Task<TestApp> StartWithAsync(Action<WebApplication> map, params (string Key, string Value)[] settings) =>
        StartAsync(null, map, b => b.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))));

    private static async Task<string> StatusesForAsync(TestApp app, string user, int times)
    {
        var statuses = new List<int>();
        for (var i = 0; i < times; i++)
        {
            statuses.Add((int)await StatusAsync(app.Client, "/a", null, ("username", user)));
        }

        return string.Join(' ', statuses);
    }
}

public sealed class LimitObjectConfigurationTestsOnMemory() : LimitObjectConfigurationTests(Backend.Memory);

public sealed class LimitObjectConfigurationTestsOnGrains() : LimitObjectConfigurationTests(Backend.Grains);

/// <summary>Malformed limit objects fail the start, every one named at once, in code and in configuration.</summary>
public sealed class LimitObjectStartupTests() : AdapterTestBase(Backend.Memory)
{
    private const string Periods = "use second, minute, hour, day, month or year (singular or plural).";
    private const string Settings = "use Limit, KeyHeader, Scope, Cost, Shared, Methods, PerMethod, ErrorMessage, MetaLimits, FailureMode or Leasing.";
    private const string MetaSettings = "use Limit, KeyHeader, Scope, Cost or ErrorMessage.";

    [Fact]
    public async Task Settings_that_dont_apply_to_a_list_fail_the_start_naming_each_limit()
    {
        var e = await StartFailsAsync(o =>
        {
            o.DefaultLimits.Add("1/minute", l => l.OverrideDefaults(false));
            o.DefaultLimits.Add("2/minute", l => l.Cost(-1));
            o.DefaultLimits.Add("5/minute", l => l.Cost(1));
            o.ApplicationLimits.Add("3/minute", l => l.Shared(false));
            o.InMemoryFallback.Add("4/minute", l => l.PerMethod());
        });

        Assert.Equal(
            [
                "RateLimitOptions.ApplicationLimits[0] (3/minute): application limits are always shared.",
                "RateLimitOptions.DefaultLimits[0] (1/minute): OverrideDefaults applies to endpoint, group and attribute limits only.",
                "RateLimitOptions.DefaultLimits[1] (2/minute): cost ('-1') must be a non-negative value.",
                "RateLimitOptions.InMemoryFallback[0] (4/minute): in-memory fallback limits take no settings of their own.",
            ],
            Assert.IsType<OptionsValidationException>(e).Failures);
    }

    [Fact]
    public async Task A_bad_meta_limit_setting_in_code_fails_the_start()
    {
        var e = await StartFailsAsync(o => o.MetaLimits.Add("1/hour", m => m.Scope("")));

        Assert.IsType<ArgumentException>(e);
        Assert.Equal("The value cannot be an empty string. (Parameter 'scope')", e.Message);
    }

    [Fact]
    public async Task A_malformed_meta_limit_in_code_fails_the_start()
    {
        var e = await StartFailsAsync(o => o.MetaLimits.Add("1/hr", m => m.ErrorMessage("x")));

        Assert.IsType<FormatException>(e);
        Assert.Equal($"Couldn't parse rate limit string '1/hr': unknown period 'hr' at position 3; {Periods}", e.Message);
    }

    [Fact]
    public async Task Every_malformed_limit_object_in_configuration_fails_the_start_at_once_naming_its_path()
    {
        var e = await StartFailsAsync(
            null,
            ("RateLimit:DefaultLimits:0:Limit", "10/fortnight"),
            ("RateLimit:DefaultLimits:1:Limit", "1/minute"),
            ("RateLimit:DefaultLimits:1:Cost", "-1"),
            ("RateLimit:DefaultLimits:2:Cost", "2"),
            ("RateLimit:DefaultLimits:3:Limit", "1/minute"),
            ("RateLimit:DefaultLimits:3:OverrideDefaults", "false"),
            ("RateLimit:DefaultLimits:4:Limit", "1/minute"),
            ("RateLimit:DefaultLimits:4:Methods:0", " "),
            ("RateLimit:DefaultLimits:5:Limit", "1/minute"),
            ("RateLimit:DefaultLimits:5:MetaLimits:0:Limit", "1/day"),
            ("RateLimit:DefaultLimits:5:MetaLimits:0:Shared", "true"),
            ("RateLimit:DefaultLimits:6", "2/minute"),
            ("RateLimit:DefaultLimits:7:Limit", "1/minute"),
            ("RateLimit:DefaultLimits:7:FailureMode", "Sideways"),
            ("RateLimit:DefaultLimits:7:Leasing", "Sometimes"),
            ("RateLimit:ApplicationLimits:0:Limit", "1/minute"),
            ("RateLimit:ApplicationLimits:0:Shared", "false"),
            ("RateLimit:ApplicationLimits:1:Limit", "1/minute"),
            ("RateLimit:ApplicationLimits:1:PerMethod", "maybe"),
            ("RateLimit:MetaLimits:0:Limit", "1/hour"),
            ("RateLimit:MetaLimits:0:PerMethod", "true"),
            ("RateLimit:MetaLimits:1:Limit", "1/hour"),
            ("RateLimit:MetaLimits:1:Methods:0", "GET"),
            ("RateLimit:InMemoryFallback:0:Limit", "1/minute"));

        Assert.Equal(
            [
                "Configuration value RateLimit:ApplicationLimits:0:Shared 'false' can't be false: application limits are always shared.",
                "Configuration value RateLimit:ApplicationLimits:1:PerMethod 'maybe' is not true or false.",
                $"RateLimit:DefaultLimits:0:Limit: Couldn't parse rate limit string '10/fortnight': unknown period 'fortnight' at position 4; {Periods}",
                "Configuration value RateLimit:DefaultLimits:1:Cost '-1' is not a cost; use a whole number of 0 or more.",
                "Configuration value RateLimit:DefaultLimits:2 has no Limit, the limit in rate-limit notation such as \"10/second\".",
                $"Configuration value RateLimit:DefaultLimits:3:OverrideDefaults 'false' is not a rate-limit setting; {Settings}",
                "Configuration value RateLimit:DefaultLimits:4:Methods is not a list of HTTP methods; use e.g. [\"GET\", \"POST\"].",
                $"Configuration value RateLimit:DefaultLimits:5:MetaLimits:0:Shared 'true' is not a meta-limit setting; {MetaSettings}",
                "Configuration value RateLimit:DefaultLimits:7:FailureMode 'Sideways' is not one of FallbackToMemory, FailOpen, FailClosed.",
                "Configuration value RateLimit:DefaultLimits:7:Leasing 'Sometimes' is not one of Auto, Always, Never.",
                "Configuration value RateLimit:InMemoryFallback:0 is not a limit; in-memory fallback limits are plain strings such as \"1/second\".",
                $"Configuration value RateLimit:MetaLimits:0:PerMethod 'true' is not a meta-limit setting; {MetaSettings}",
                $"Configuration value RateLimit:MetaLimits:1:Methods is not a meta-limit setting; {MetaSettings}",
            ],
            Assert.IsType<OptionsValidationException>(e).Failures);
    }

    private async Task<Exception> StartFailsAsync(Action<RateLimitOptions>? configure, params (string Key, string Value)[] settings) =>
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = await StartAsync(
                configure,
                a => a.MapGet("/t", () => "t"),
                b => b.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))));
        });
}
