using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>Where a window that falls back to memory starts: from what its owner last said of it, per strategy.</summary>
public sealed class FallbackSeedTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 30, TimeSpan.Zero);
    private static readonly RateLimitItem TenPerMinute = RateLimitItem.Parse("10/minute");

    [Fact]
    public void A_fixed_window_takes_the_owners_count_and_period()
    {
        var window = RateLimitWindow.Create(RateLimitStrategy.FixedWindow, TenPerMinute);
        var reset = Now.AddSeconds(20);

        FallbackSeed.Raise(window, TenPerMinute, Seen(remaining: 4, reset, Now.AddSeconds(-1)), Now);

        Assert.Equal(new WindowStats(4, reset), window.Stats(Now));
        Assert.Equal(10, window.Stats(reset).Remaining);
    }

    [Fact]
    public void A_fixed_window_whose_period_has_ended_starts_empty()
    {
        var window = RateLimitWindow.Create(RateLimitStrategy.FixedWindow, TenPerMinute);

        FallbackSeed.Raise(window, TenPerMinute, Seen(remaining: 4, Now.AddSeconds(-1), Now.AddSeconds(-5)), Now);

        Assert.Equal(10, window.Stats(Now).Remaining);
    }

    [Fact]
    public void A_sliding_window_counters_count_fades_from_when_it_was_seen()
    {
        var window = RateLimitWindow.Create(RateLimitStrategy.SlidingWindowCounter, TenPerMinute);

        FallbackSeed.Raise(window, TenPerMinute, Seen(remaining: 2, Now.AddSeconds(5), Now), Now);

        Assert.Equal(2, window.Stats(Now).Remaining);
        Assert.Equal(6, window.Stats(Now.AddSeconds(30)).Remaining);
        Assert.Equal(10, window.Stats(Now.AddSeconds(60)).Remaining);
    }

    [Fact]
    public void A_moving_window_counts_the_hits_as_made_when_they_were_seen()
    {
        var window = RateLimitWindow.Create(RateLimitStrategy.MovingWindow, TenPerMinute);

        FallbackSeed.Raise(window, TenPerMinute, Seen(remaining: 7, Now.AddSeconds(10), Now.AddSeconds(-10)), Now);

        Assert.Equal(7, window.Stats(Now).Remaining);
        Assert.Equal(10, window.Stats(Now.AddSeconds(50)).Remaining);
    }

    [Fact]
    public void A_count_seen_longer_than_a_period_ago_or_nothing_seen_leaves_the_window_as_it_is()
    {
        var window = RateLimitWindow.Create(RateLimitStrategy.MovingWindow, TenPerMinute);

        FallbackSeed.Raise(window, TenPerMinute, Seen(remaining: 0, Now.AddSeconds(1), Now.AddMinutes(-1)), Now);
        FallbackSeed.Raise(window, TenPerMinute, SeenWindow.Nothing, Now);

        Assert.Equal(10, window.Stats(Now).Remaining);
    }

    [Fact]
    public void A_window_that_has_counted_more_in_memory_is_not_lowered()
    {
        var window = RateLimitWindow.Create(RateLimitStrategy.FixedWindow, TenPerMinute);
        window.Hit(Now, 5);

        FallbackSeed.Raise(window, TenPerMinute, Seen(remaining: 8, Now.AddSeconds(20), Now), Now);

        Assert.Equal(5, window.Stats(Now).Remaining);
    }

    [Fact]
    public void The_last_seen_table_answers_for_the_window_it_was_told_about_only()
    {
        var table = new LastSeenCounts();
        var seen = new WindowRef(new RateLimitWindowKey(RateLimitStrategy.FixedWindow, TenPerMinute, "/a", "alice", ""));
        var other = new WindowRef(new RateLimitWindowKey(RateLimitStrategy.FixedWindow, TenPerMinute, "/a", "bob", ""));

        table.Saw(seen, new WindowStats(3, Now.AddSeconds(20)), Now);

        Assert.True(table.TryFind(seen, out var found));
        Assert.Equal(new SeenWindow(new WindowStats(3, Now.AddSeconds(20)), Now.UtcTicks), found);
        Assert.False(table.TryFind(other, out _));
    }

    private static SeenWindow Seen(long remaining, DateTimeOffset reset, DateTimeOffset at) => new(new WindowStats(remaining, reset), at.UtcTicks);
}
