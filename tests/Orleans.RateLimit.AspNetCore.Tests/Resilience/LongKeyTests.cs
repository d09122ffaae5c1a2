using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>A client key of kilobytes, from a header: counted like any other, stored and logged at a bounded size.</summary>
public sealed class LongKeyTests() : AdapterTestBase(Backend.Memory)
{
    [Fact]
    public async Task A_long_key_is_counted_and_logged_shortened()
    {
        var key = new string('k', 4000);
        await using var app = await StartAsync(
            o => o.KeySelector = KeySelectors.Header("X-Client"),
            a => a.MapGet("/t", () => "t").RateLimit("1/minute"));

        Assert.Equal(200, (int)await StatusAsync(app.Client, "/t", null, ("X-Client", key)));
        Assert.Equal(429, (int)await StatusAsync(app.Client, "/t", null, ("X-Client", key)));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/t", null, ("X-Client", key + "2")));

        var breach = Assert.Single(app.Logs.Messages(LogLevel.Information), m => m.StartsWith("ratelimit 1 per 1 minute", StringComparison.Ordinal));
        Assert.Equal($"ratelimit 1 per 1 minute ({new string('k', 200)}… (4000 chars)) exceeded at endpoint: /t", breach);
    }
}
