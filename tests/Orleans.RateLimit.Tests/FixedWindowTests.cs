namespace Orleans.RateLimit.Tests;

public sealed class FixedWindowTests
{
    // A fractional start, as the original's header tests use, so truncation mistakes show.
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, 500, TimeSpan.Zero);

    [Fact]
    public void Admits_the_amount_then_rejects_until_the_window_ends()
    {
        var window = new FixedWindow(RateLimitItem.Parse("3/minute"));

        Assert.True(window.Hit(T0));
        Assert.True(window.Hit(T0.AddSeconds(10)));
        Assert.True(window.Hit(T0.AddSeconds(20)));
        Assert.False(window.Hit(T0.AddSeconds(30)));
        Assert.False(window.Hit(T0.AddSeconds(60).AddTicks(-1)));
        Assert.True(window.Hit(T0.AddSeconds(60)));
    }

    [Fact]
    public void Window_starts_at_the_first_hit_not_at_a_clock_boundary()
    {
        var window = new FixedWindow(RateLimitItem.Parse("1/minute"));
        var first = T0.AddSeconds(37);

        Assert.True(window.Hit(first));
        Assert.Equal(first.AddMinutes(1), window.Stats(first).ResetAt);
        Assert.False(window.Hit(first.AddSeconds(59)));
        Assert.True(window.Hit(first.AddSeconds(60)));
    }

    [Fact]
    public void A_failed_hit_still_counts()
    {
        var window = new FixedWindow(RateLimitItem.Parse("10/minute"));

        Assert.False(window.Hit(T0, cost: 11));

        Assert.Equal(0, window.Stats(T0).Remaining);
        Assert.False(window.Test(T0));
        Assert.Equal([new WindowBucket(T0.UtcTicks, 11)], window.Save());
        Assert.True(window.Hit(T0.AddMinutes(1)));
    }

    [Fact]
    public void Count_can_pass_the_limit_and_remaining_stays_at_zero()
    {
        var window = new FixedWindow(RateLimitItem.Parse("2/minute"));
        for (var i = 0; i < 5; i++)
        {
            window.Hit(T0);
        }

        Assert.Equal(new WindowStats(0, T0.AddMinutes(1)), window.Stats(T0));
        Assert.Equal(5, window.Save()[0].Count);
    }

    [Fact]
    public void Test_is_count_plus_cost_within_the_limit_and_changes_nothing()
    {
        var window = new FixedWindow(RateLimitItem.Parse("10/minute"));
        window.Hit(T0, cost: 7);

        Assert.True(window.Test(T0, cost: 3));
        Assert.False(window.Test(T0, cost: 4));
        Assert.Equal(3, window.Stats(T0).Remaining);
    }

    [Fact]
    public void Stats_of_an_empty_window_reset_now()
    {
        var window = new FixedWindow(RateLimitItem.Parse("10/minute"));

        Assert.Equal(new WindowStats(10, T0), window.Stats(T0));
        Assert.Null(window.ExpiresAt);
    }

    [Fact]
    public void Stats_count_down_and_reset_at_the_first_hit_plus_the_period()
    {
        var window = new FixedWindow(RateLimitItem.Parse("5/2 seconds"));
        window.Hit(T0);
        window.Hit(T0.AddSeconds(1), cost: 2);

        Assert.Equal(new WindowStats(2, T0.AddSeconds(2)), window.Stats(T0.AddSeconds(1)));
        Assert.Equal(new WindowStats(5, T0.AddSeconds(2)), window.Stats(T0.AddSeconds(2)));
    }

    [Fact]
    public void Zero_amount_rejects_every_hit()
    {
        var window = new FixedWindow(RateLimitItem.Parse("0/second"));

        Assert.True(window.Test(T0, cost: 0));
        Assert.False(window.Test(T0));
        Assert.False(window.Hit(T0));
    }

    [Fact]
    public void Clear_forgets_the_window()
    {
        var window = new FixedWindow(RateLimitItem.Parse("1/minute"));
        window.Hit(T0);

        window.Clear();

        Assert.True(window.Hit(T0));
    }

    [Fact]
    public void Negative_cost_is_rejected()
    {
        var window = new FixedWindow(RateLimitItem.Parse("1/minute"));

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => window.Hit(T0, -1));
        Assert.StartsWith("The cost of a hit must be zero or more.", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Restore_folds_two_copies_into_the_latest_active_window()
    {
        var window = new FixedWindow(RateLimitItem.Parse("10/minute"));

        window.Restore([new(T0.UtcTicks, 3), new(T0.AddSeconds(5).UtcTicks, 4), new(T0.AddMinutes(-2).UtcTicks, 9)], T0.AddSeconds(10));

        Assert.Equal(new WindowStats(3, T0.AddSeconds(65)), window.Stats(T0.AddSeconds(10)));
    }
}
