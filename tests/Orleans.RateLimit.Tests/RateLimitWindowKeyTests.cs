using System.Globalization;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Tests;

public sealed class RateLimitWindowKeyTests
{
    private static readonly RateLimitItem TenPerMinute = RateLimitItem.Parse("10/minute");

    private static string KeyFor(string key, string scope = "root", string prefix = "") =>
        new RateLimitWindowKey(RateLimitStrategy.FixedWindow, TenPerMinute, scope, key, prefix).ToStorageKey();

    [Fact]
    public void Key_names_strategy_limit_prefix_scope_and_client()
    {
        Assert.Equal("fixed-window/10/1/minute//root/127.0.0.1", KeyFor("127.0.0.1"));
        Assert.Equal("moving-window/2/5/hour/app1/global/::1",
            new RateLimitWindowKey(RateLimitStrategy.MovingWindow, RateLimitItem.Parse("2 per 5 hours"), "global", "::1", "app1").ToStorageKey());
        Assert.Equal("sliding-window-counter/1/1/second//meta/k",
            new RateLimitWindowKey(RateLimitStrategy.SlidingWindowCounter, RateLimitItem.Parse("1/second"), "meta", "k").ToStorageKey());
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
    public void A_window_reference_carries_the_window_whole(RateLimitStrategy strategy)
    {
        var window = new RateLimitWindowKey(strategy, RateLimitItem.Parse("7 per 3 hours"), "s/cope", "k/ey", "p");

        var reference = new WindowRef(window);

        Assert.Equal(window, reference.ToKey());
        Assert.Equal(window.ToStorageKey(), reference.ToKey().ToStorageKey());
    }

    [Theory]
    [InlineData(10, 1, 7, "A window of 10 per 1 × 7 s is not a limit.")]
    [InlineData(-1, 1, 60, "A window of -1 per 1 × 60 s is not a limit.")]
    [InlineData(10, 0, 60, "A window of 10 per 0 × 60 s is not a limit.")]
    [InlineData(10, 1000, 31_104_000, "A window of 10 per 1000 × 31104000 s is not a limit.")]
    public void A_window_reference_that_names_no_limit_is_rejected(long amount, int multiples, int granularitySeconds, string message)
    {
        var reference = new WindowRef { Amount = amount, Multiples = multiples, GranularitySeconds = granularitySeconds, Key = "k", Scope = "s" };

        var exception = Assert.Throws<FormatException>(() => reference.ToLimit());

        Assert.Equal(message, exception.Message);
    }

    [Fact]
    public void A_long_client_key_is_held_as_its_beginning_and_its_hash_and_stays_distinct()
    {
        var common = new string('k', 64);
        var first = new WindowRef(new RateLimitWindowKey(RateLimitStrategy.FixedWindow, TenPerMinute, "s", common + new string('a', 8_000)));
        var second = new WindowRef(new RateLimitWindowKey(RateLimitStrategy.FixedWindow, TenPerMinute, "s", common + new string('b', 8_000)));
        var forged = new WindowRef(new RateLimitWindowKey(RateLimitStrategy.FixedWindow, TenPerMinute, "s", first.Key));
        var longest = new WindowRef(new RateLimitWindowKey(RateLimitStrategy.FixedWindow, TenPerMinute, "s", new string('c', WindowRef.MaxPartLength)));

        Assert.Equal(129, first.Key.Length);
        Assert.StartsWith(common + "#", first.Key, StringComparison.Ordinal);
        Assert.NotEqual(first, second);
        Assert.NotEqual(first, forged);
        Assert.Equal(new string('c', WindowRef.MaxPartLength), longest.Key);
    }

    [Fact]
    public void Every_window_of_one_client_has_one_owner_whatever_its_limit_or_scope()
    {
        var keys = Enumerable.Range(0, 10_000).Select(i => "10.0.0." + i.ToString(CultureInfo.InvariantCulture)).ToList();
        var owners = keys.Select(key => WindowPartition.IndexOf(key, WindowPartition.DefaultCount)).ToList();

        Assert.All(owners, owner => Assert.InRange(owner, 0, WindowPartition.DefaultCount - 1));

        // Stable across processes and releases: stored windows are found again by their partition.
        Assert.Equal(PinnedOwners, owners.Take(4).ToArray());

        // Spread: 10,000 clients over 256 partitions, about 39 each; none holds more than twice that or fewer than half.
        var perPartition = owners.GroupBy(owner => owner).Select(group => group.Count()).ToList();
        Assert.Equal(WindowPartition.DefaultCount, perPartition.Count);
        Assert.All(perPartition, count => Assert.InRange(count, 19, 78));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(255, 256)]
    [InlineData(65_535, 65_536)]
    public void A_partition_reads_itself_back_from_its_grain_key(int index, int count)
    {
        var partition = new WindowPartition(index, count);

        Assert.Equal(partition, WindowPartition.FromGrainKey(partition.GrainKey));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData((256L << 32) | 256)]
    [InlineData((65_537L << 32) | 1)]
    public void A_grain_key_that_names_no_partition_is_rejected(long grainKey)
    {
        var exception = Assert.Throws<FormatException>(() => WindowPartition.FromGrainKey(grainKey));

        Assert.Equal($"The window partition key {grainKey.ToString(CultureInfo.InvariantCulture)} names no partition.", exception.Message);
    }

    /// <summary>The owners of 10.0.0.0 to 10.0.0.3 among 256 partitions, as every release must compute them.</summary>
    private static readonly int[] PinnedOwners = [122, 10, 11, 75];
}
