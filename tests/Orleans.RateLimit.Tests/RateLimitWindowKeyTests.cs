using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Tests;

public sealed class RateLimitWindowKeyTests
{
    private static readonly RateLimitItem TenPerMinute = RateLimitItem.Parse("10/minute");

    private static string KeyFor(string key, string scope = "root", string prefix = "") =>
        new RateLimitWindowKey(RateLimitStrategy.FixedWindow, TenPerMinute, scope, key, prefix).ToGrainKey();

    [Fact]
    public void Key_names_strategy_limit_prefix_scope_and_client()
    {
        Assert.Equal("fixed-window/10/1/minute//root/127.0.0.1", KeyFor("127.0.0.1"));
        Assert.Equal("moving-window/2/5/hour/app1/global/::1",
            new RateLimitWindowKey(RateLimitStrategy.MovingWindow, RateLimitItem.Parse("2 per 5 hours"), "global", "::1", "app1").ToGrainKey());
        Assert.Equal("sliding-window-counter/1/1/second//meta/k",
            new RateLimitWindowKey(RateLimitStrategy.SlidingWindowCounter, RateLimitItem.Parse("1/second"), "meta", "k").ToGrainKey());
    }

    [Theory]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("50%", "50%25")]
    [InlineData("#tag", "%23tag")]
    [InlineData("a b", "a%20b")]
    [InlineData("nul\0", "nul%00")]
    [InlineData("line\r\nbreak", "line%0D%0Abreak")]
    [InlineData("del\u007F", "del%7F")]
    [InlineData("café", "caf%u00E9")]
    [InlineData("😀", "%uD83D%uDE00")]
    public void User_parts_are_escaped(string key, string escaped)
    {
        Assert.Equal($"fixed-window/10/1/minute//root/{escaped}", KeyFor(key));
    }

    [Fact]
    public void A_lone_surrogate_is_escaped_not_replaced()
    {
        // Built in code: attribute arguments cannot carry a lone surrogate intact.
        var lone = "lone" + (char)0xD800;

        Assert.Equal("fixed-window/10/1/minute//root/lone%uD800", KeyFor(lone));
        Assert.NotEqual(KeyFor(lone), KeyFor("lone" + (char)0xD801));
    }

    [Fact]
    public void Every_part_is_escaped_so_parts_cannot_be_confused()
    {
        Assert.NotEqual(KeyFor("k", scope: "a/b"), KeyFor("b/k", scope: "a"));
        Assert.NotEqual(KeyFor("k", prefix: "p/root"), KeyFor("root/k", prefix: "p"));
        Assert.Equal("fixed-window/10/1/minute/p%2Fq/s%2Ft/k%2Fl", KeyFor("k/l", scope: "s/t", prefix: "p/q"));
    }

    [Fact]
    public void Over_long_parts_become_a_readable_beginning_and_a_hash()
    {
        var huge = new string('a', 10_240);
        var grainKey = KeyFor(huge);

        var keyPart = grainKey["fixed-window/10/1/minute//root/".Length..];
        Assert.True(keyPart.Length <= RateLimitWindowKey.MaxPartLength, $"length {keyPart.Length}");
        Assert.StartsWith(new string('a', 40), keyPart, StringComparison.Ordinal);
        Assert.Matches("^a+#[0-9a-f]{64}$", keyPart);
        Assert.NotEqual(grainKey, KeyFor(huge[..^1] + "b"));
        Assert.Equal(grainKey, KeyFor(new string('a', 10_240)));
    }

    [Fact]
    public void A_part_at_the_limit_is_kept_whole()
    {
        var exact = new string('k', RateLimitWindowKey.MaxPartLength);

        Assert.EndsWith("/" + exact, KeyFor(exact), StringComparison.Ordinal);
        Assert.Contains('#', KeyFor(exact + "k"));
    }

    [Fact]
    public void Hostile_keys_give_distinct_keys()
    {
        string[] hostile =
        [
            "", " ", "/", "//", "%", "%2F", "#", "%23", "a#" + new string('0', 64), "\0", "\u0001", "\u00A0", "\u200B", "é", "e\u0301",
            "\uD800", "\uDC00", "\uD800\uDC00", "😀", new string('x', 10_240), new string('x', 10_241), new string('/', 5_000),
            new string('é', 200), "127.0.0.1", "127.0.0.1 ", "::1", "[::1]", "KEY", "key",
        ];

        var keys = hostile.Select(k => KeyFor(k)).ToList();

        Assert.Equal(hostile.Length, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.All(keys, k => Assert.True(k.Length < 256, $"grain key of length {k.Length}"));
        Assert.All(keys, k => Assert.DoesNotContain(k, c => char.IsControl(c) || char.IsSurrogate(c) || c > '\u007E'));
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public void Grain_reads_its_limit_back_from_the_key(RateLimitStrategy strategy)
    {
        var limit = RateLimitItem.Parse("7 per 3 hours");
        var grainKey = new RateLimitWindowKey(strategy, limit, "s/cope", "k/ey", "p").ToGrainKey();

        var (parsedStrategy, parsedLimit) = RateLimitWindowKey.ParseLimit(grainKey);

        Assert.Equal(strategy, parsedStrategy);
        Assert.Equal(limit, parsedLimit);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fixed-window/10/1/minute")]
    [InlineData("token-bucket/10/1/minute//s/k")]
    [InlineData("fixed-window/-1/1/minute//s/k")]
    [InlineData("fixed-window/10/0/minute//s/k")]
    [InlineData("fixed-window/10/1/fortnight//s/k")]
    [InlineData("fixed-window/10/1000/years//s/k")]
    public void A_key_not_made_by_the_builder_is_rejected(string grainKey)
    {
        var exception = Assert.Throws<FormatException>(() => RateLimitWindowKey.ParseLimit(grainKey));

        Assert.Equal(
            $"The rate-limit grain key '{grainKey}' is not of the form '{{strategy}}/{{amount}}/{{multiples}}/{{granularity}}/{{prefix}}/{{scope}}/{{key}}'; build keys with RateLimitWindowKey.",
            exception.Message);
    }
}
