using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>One start names every mistake in the <c>RateLimit</c> section, and in the options code set, not just the first.</summary>
public sealed class ConfigurationErrorsTests() : AdapterTestBase(Backend.Memory)
{
    private const string Periods = "use second, minute, hour, day, month or year (singular or plural).";

    [Fact]
    public async Task Every_bad_value_unknown_key_and_malformed_limit_fails_the_start_at_once_in_configuration_order()
    {
        var e = await StartFailsAsync(
            o => o.CircuitBreakerThreshold = 0,
            ("RateLimit:Strategy", "token-bucket"),
            ("RateLimit:HeadersEnabeld", "true"),
            ("RateLimit:DefaultLimits", "10/fortnight"),
            ("RateLimit:HeadersEnabled", "true"),
            ("RateLimit:ApplicationLimits:0", "5/fortnight"),
            ("RateLimit:ApplicationLimits:1", "100/hour"),
            ("RateLimit:ApplicationLimits:2", "3 hour"),
            ("RateLimit:HeaderNames:Reset", " "),
            ("RateLimit:HeaderNames:Limt", "X-Limit"),
            ("RateLimit:HeaderNames:Remaining", "X-Left"),
            ("RateLimit:Partitions", "0"));

        string[] failures =
        [
            $"RateLimit:ApplicationLimits: Couldn't parse rate limit string '5/fortnight': unknown period 'fortnight' at position 3; {Periods}",
            "RateLimit:ApplicationLimits: Couldn't parse rate limit string '3 hour': expected '/' or 'per' after the amount at position 3, found 'h'.",
            $"RateLimit:DefaultLimits: Couldn't parse rate limit string '10/fortnight': unknown period 'fortnight' at position 4; {Periods}",
            "Configuration value RateLimit:HeaderNames:Limt 'X-Limit' is not a header name option; use Limit, Remaining, Reset or RetryAfter.",
            "Configuration value RateLimit:HeaderNames:Reset ' ' is empty.",
            "Configuration value RateLimit:HeadersEnabeld 'true' is not a rate-limit option.",
            "Configuration value RateLimit:Partitions '0' is not a count; use a whole number of 1 or more.",
            "Configuration value RateLimit:Strategy 'token-bucket' is not one of FixedWindow, MovingWindow, SlidingWindowCounter.",
            "RateLimitOptions.CircuitBreakerThreshold (0) must be 1 or more.",
        ];
        var exception = Assert.IsType<OptionsValidationException>(e);
        Assert.Equal(failures, exception.Failures);
        Assert.Equal(string.Join("; ", failures), exception.Message);
    }

    [Fact]
    public async Task A_configuration_problem_and_a_value_out_of_range_are_reported_together()
    {
        var e = await StartFailsAsync(
            null,
            ("RateLimit:CircuitBreakerDuration", "00:05:00"),
            ("RateLimit:CircuitBreakerDurtion", "00:00:01"));

        Assert.Equal(
            [
                "Configuration value RateLimit:CircuitBreakerDurtion '00:00:01' is not a rate-limit option.",
                "RateLimitOptions.CircuitBreakerDuration (00:05:00) must be from zero to 00:01:00.",
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
