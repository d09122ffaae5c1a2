namespace Orleans.RateLimit.Tests;

public sealed class SlidingWindowCounterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, 500, TimeSpan.Zero);

    /// <summary>The window with <paramref name="previous"/> hits in the period before the current one and <paramref name="current"/> in it.</summary>
    private static SlidingWindowCounter WithCounts(string limit, int previous, int current)
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse(limit));
        var period = window.Limit.Period;
        window.Restore([new WindowBucket(T0.UtcTicks, previous), new WindowBucket((T0 + period).UtcTicks, current)], T0 + period);
        return window;
    }

    [Fact]
    public void Documented_example_rejects_at_30_seconds_and_admits_at_40()
    {
        // 100/minute with 40 hits in the previous period and 80 in the current one.
        var window = WithCounts("100/minute", previous: 40, current: 80);
        var currentStart = T0.AddMinutes(1);

        // 30 s in: floor(80 + 40 × 30/60) = 100, so one more does not fit.
        Assert.False(window.Test(currentStart.AddSeconds(30)));
        Assert.False(window.Hit(currentStart.AddSeconds(30)));
        Assert.Equal(0, window.Stats(currentStart.AddSeconds(30)).Remaining);

        // 40 s in: floor(80 + 40 × 20/60) = 93.
        Assert.Equal(7, window.Stats(currentStart.AddSeconds(40)).Remaining);
        Assert.True(window.Hit(currentStart.AddSeconds(40)));
        Assert.Equal(6, window.Stats(currentStart.AddSeconds(40)).Remaining);
    }

    [Fact]
    public void Previous_weight_falls_linearly_to_zero()
    {
        var window = WithCounts("10/minute", previous: 10, current: 0);
        var currentStart = T0.AddMinutes(1);

        Assert.Equal(0, window.Stats(currentStart).Remaining);
        Assert.Equal(1, window.Stats(currentStart.AddSeconds(6)).Remaining);
        Assert.Equal(5, window.Stats(currentStart.AddSeconds(30)).Remaining);
        Assert.Equal(9, window.Stats(currentStart.AddSeconds(54)).Remaining);
        Assert.Equal(10, window.Stats(currentStart.AddSeconds(55)).Remaining);
        Assert.Equal(10, window.Stats(currentStart.AddSeconds(60)).Remaining);
    }

    [Fact]
    public void Periods_are_anchored_at_the_first_hit()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("2/minute"));
        var first = T0.AddSeconds(45);

        Assert.True(window.Hit(first));
        Assert.True(window.Hit(first.AddSeconds(1)));
        // A clock-aligned counter would start a new period at the next whole minute (15 s later); this one waits for
        // the anchor's period to end, and then the previous period still weighs in.
        Assert.False(window.Hit(first.AddSeconds(20)));
        Assert.False(window.Hit(first.AddSeconds(60)));
        Assert.True(window.Hit(first.AddSeconds(90)));
    }

    [Fact]
    public void A_rejected_hit_consumes_nothing()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("3/minute"));
        window.Hit(T0, cost: 3);

        for (var i = 0; i < 5; i++)
        {
            Assert.False(window.Hit(T0.AddSeconds(i)));
        }

        Assert.Equal([new WindowBucket(T0.UtcTicks, 3)], window.Save());
    }

    [Fact]
    public void Cost_above_the_limit_fails_and_records_nothing()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("5/minute"));

        Assert.False(window.Hit(T0, cost: 6));
        Assert.Empty(window.Save());
        Assert.False(window.Test(T0, cost: 6));
        Assert.True(window.Test(T0, cost: 5));
    }

    [Fact]
    public void Two_idle_periods_empty_the_window_and_the_next_hit_anchors_anew()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("1/minute"));
        window.Hit(T0);

        Assert.Equal(T0.AddMinutes(2), window.ExpiresAt);
        Assert.False(window.Hit(T0.AddSeconds(59)));
        Assert.True(window.Hit(T0.AddSeconds(120)));
        Assert.Equal([new WindowBucket(T0.AddSeconds(120).UtcTicks, 1)], window.Save());
    }

    [Fact]
    public void Stats_of_an_empty_window_reset_now()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("5/minute"));

        Assert.Equal(new WindowStats(5, T0), window.Stats(T0));
    }

    [Fact]
    public void Stats_estimate_when_the_next_unit_frees()
    {
        // Previous 4, current 0, 10 s into the current period of 60 s: the previous counter lives 50 s more and frees a
        // unit every 60/4 = 15 s, so the next one frees in 50 mod 15 = 5 s.
        var window = WithCounts("4/minute", previous: 4, current: 0);
        var at = T0.AddMinutes(1).AddSeconds(10);

        Assert.Equal(new WindowStats(1, at.AddSeconds(5)), window.Stats(at));

        // With a current count, its term is (time left in the current period) mod period: 50 s here.
        Assert.True(window.Hit(at));
        Assert.Equal(new WindowStats(0, at.AddSeconds(5)), window.Stats(at));

        var onlyCurrent = new SlidingWindowCounter(RateLimitItem.Parse("4/minute"));
        onlyCurrent.Hit(T0);
        Assert.Equal(new WindowStats(3, T0.AddSeconds(60)), onlyCurrent.Stats(T0.AddSeconds(20)));
    }

    [Fact]
    public void Clear_forgets_both_periods()
    {
        var window = WithCounts("10/minute", previous: 5, current: 5);

        window.Clear();

        Assert.Empty(window.Save());
        Assert.Equal(new WindowStats(10, T0.AddMinutes(1)), window.Stats(T0.AddMinutes(1)));
    }

    [Fact]
    public void Save_keeps_the_anchor_even_when_the_current_period_is_empty()
    {
        var window = WithCounts("10/minute", previous: 4, current: 0);
        var saved = window.Save();
        var copy = new SlidingWindowCounter(RateLimitItem.Parse("10/minute"));

        copy.Restore(saved, T0.AddMinutes(1).AddSeconds(30));

        Assert.Equal(window.Stats(T0.AddMinutes(1).AddSeconds(30)), copy.Stats(T0.AddMinutes(1).AddSeconds(30)));
    }

    [Fact]
    public void Restore_of_a_rolled_window_keeps_its_weights()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("10/minute"));
        window.Hit(T0, cost: 6);
        var copy = new SlidingWindowCounter(RateLimitItem.Parse("10/minute"));

        copy.Restore(window.Save(), T0.AddSeconds(90));

        // 30 s into the second period: floor(6 × 30/60) = 3 counted.
        Assert.Equal(7, copy.Stats(T0.AddSeconds(90)).Remaining);
        Assert.Equal(window.Stats(T0.AddSeconds(90)), copy.Stats(T0.AddSeconds(90)));
    }
}
