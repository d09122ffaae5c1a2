using Microsoft.AspNetCore.Builder;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// <c>orleans_ratelimit.requests</c>: one measurement per request the limiter decided, tagged with its result and the path
/// that decided it; requests it does not limit are not counted.
/// </summary>
public sealed class RequestMetricsTests() : AdapterTestBase(Backend.Memory)
{
    [Fact]
    public async Task Each_limited_request_is_counted_once_by_result_and_path()
    {
        await using var app = await StartAsync(
            o => o.RequestFilters.Add(context => context.Request.Path == "/filtered"),
            a =>
            {
                a.MapGet("/limited", () => "ok").RateLimit("2/minute", l => l.MetaLimits("1/hour"));
                a.MapGet("/exempt-when", () => "ok").RateLimit("1/minute", l => l.ExemptWhen(_ => true));
                a.MapGet("/exempt", () => "ok").RateLimit("1/minute").ExemptFromRateLimits();
                a.MapGet("/filtered", () => "ok").RateLimit("1/minute");
            });
        using var counts = new RequestCounts(app.Services);

        // Two admitted, a third over the limit (the client's first breach), then the meta limit of one breach an hour: first
        // asked of the store, then known to this node's block cache, which answers without a check.
        Assert.Equal("200 200 429 429 429", await StatusesAsync(app.Client, "/limited", 5));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/exempt-when", 2));
        Assert.Equal("200", await StatusesAsync(app.Client, "/exempt", 1));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/filtered", 2));

        Assert.Equal(
            new Dictionary<string, long>
            {
                ["result=allowed path=memory"] = 2,
                ["result=exempt path=memory"] = 3,
                ["result=limited path=memory"] = 1,
                ["result=meta_limited path=memory"] = 2,
            },
            counts.Totals);
    }
}
