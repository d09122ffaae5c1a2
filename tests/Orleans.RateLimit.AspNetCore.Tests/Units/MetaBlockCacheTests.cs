using Orleans.RateLimit.Grains;
using Microsoft.Extensions.Time.Testing;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>The cache of meta-blocked clients: bounded by refusing new entries, swept by its timer, never by a request.</summary>
public sealed class MetaBlockCacheTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_block_holds_until_its_end_and_not_at_it()
    {
        var clock = new FakeTimeProvider(Start);
        using var cache = new MetaBlockCache(clock);
        cache.Block(Meta("a"), Start.AddMinutes(1), Start);

        Assert.True(cache.IsBlocked(Meta("a"), Start.AddSeconds(59), out var until));
        Assert.Equal(Start.AddMinutes(1), until);
        Assert.False(cache.IsBlocked(Meta("a"), Start.AddMinutes(1), out _));
        Assert.False(cache.IsBlocked(Meta("b"), Start, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void A_block_that_has_already_ended_is_not_kept()
    {
        var clock = new FakeTimeProvider(Start);
        using var cache = new MetaBlockCache(clock);
        cache.Block(Meta("a"), Start, Start);

        Assert.False(cache.IsBlocked(Meta("a"), Start, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void A_full_cache_refuses_new_clients_but_renews_the_ones_it_holds()
    {
        var clock = new FakeTimeProvider(Start);
        using var cache = new MetaBlockCache(clock, capacity: 2);
        cache.Block(Meta("a"), Start.AddMinutes(1), Start);
        cache.Block(Meta("b"), Start.AddMinutes(1), Start);
        cache.Block(Meta("c"), Start.AddMinutes(1), Start);
        cache.Block(Meta("a"), Start.AddMinutes(5), Start);

        Assert.Equal(2, cache.Count);
        Assert.False(cache.IsBlocked(Meta("c"), Start, out _));
        Assert.True(cache.IsBlocked(Meta("a"), Start.AddMinutes(2), out var until));
        Assert.Equal(Start.AddMinutes(5), until);
    }

    [Fact]
    public void The_timer_sweeps_ended_blocks_and_makes_room_for_new_ones()
    {
        var clock = new FakeTimeProvider(Start);
        using var cache = new MetaBlockCache(clock, capacity: 3);
        cache.Block(Meta("short-1"), Start.AddSeconds(5), Start);
        cache.Block(Meta("short-2"), Start.AddSeconds(5), Start);
        cache.Block(Meta("long"), Start.AddHours(1), Start);

        clock.Advance(MetaBlockCache.SweepInterval - TimeSpan.FromTicks(1));
        Assert.Equal(3, cache.Count);

        clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, cache.Count);
        Assert.True(cache.IsBlocked(Meta("long"), clock.GetUtcNow(), out _));

        cache.Block(Meta("new"), clock.GetUtcNow().AddMinutes(1), clock.GetUtcNow());
        Assert.True(cache.IsBlocked(Meta("new"), clock.GetUtcNow(), out _));
    }

    private static WindowRef Meta(string key) =>
        new(new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("2/hour"), "meta", key));
}
