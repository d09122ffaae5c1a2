using Microsoft.AspNetCore.Builder;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>What of a limit's settings an attribute can carry: a header key and meta limits, beside the settings it had.</summary>
public abstract class AttributeLimitObjectTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task An_attribute_keyed_by_a_header_with_meta_limits_blocks_that_key_after_a_breach()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/a", [RateLimit("1/minute", KeyHeader = "username", MetaLimits = ["1/hour"])] () => "a"));

        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("username", "alice")));
        Assert.Equal("1 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
        await MetaBreachesCountedAsync(app, "alice", ("1/hour", 0));
        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("1 per 1 hour", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("username", "bob")));
    }

    [Fact]
    public async Task Identical_attributes_keyed_by_the_same_header_count_once()
    {
        await using var app = await StartAsync(
            null,
            a => a.MapGet("/a", [RateLimit("2/minute", KeyHeader = "username")] [RateLimit("2/minute", KeyHeader = "Username")] () => "a"));

        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("username", "alice")));
        Assert.Equal(200, (int)await StatusAsync(app.Client, "/a", null, ("username", "alice")));
        Assert.Equal("2 per 1 minute", await RouteLimitProbe.RejectionDetailAsync(app.Client, "/a", ("username", "alice")));
    }
}

public sealed class AttributeLimitObjectTestsOnMemory() : AttributeLimitObjectTests(Backend.Memory);

public sealed class AttributeLimitObjectTestsOnGrains() : AttributeLimitObjectTests(Backend.Grains);

/// <summary>A malformed meta limit or key header in an attribute fails the start.</summary>
public sealed class AttributeLimitObjectStartupTests() : AdapterTestBase(Backend.Memory)
{
    [Fact]
    public async Task A_malformed_meta_limit_in_an_attribute_fails_the_start()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = await StartAsync(null, a => a.MapGet("/x", [RateLimit("1/minute", MetaLimits = ["2 per hr"])] () => "x"));
        });

        Assert.IsType<InvalidOperationException>(e);
        Assert.Equal(
            "Invalid rate limit on endpoint 'HTTP: GET /x': Invalid meta limit in [RateLimit(\"1/minute\")]: "
            + "Couldn't parse rate limit string '2 per hr': unknown period 'hr' at position 7; use second, minute, hour, day, month or year (singular or plural).",
            e.Message);
    }

    [Fact]
    public async Task An_empty_key_header_in_an_attribute_fails_the_start()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = await StartAsync(null, a => a.MapGet("/x", [RateLimit("1/minute", KeyHeader = " ")] () => "x"));
        });

        Assert.IsType<InvalidOperationException>(e);
        Assert.Equal(
            "Invalid rate limit on endpoint 'HTTP: GET /x': The key header of [RateLimit(\"1/minute\")] is empty. (Parameter 'KeyHeader')",
            e.Message);
    }
}
