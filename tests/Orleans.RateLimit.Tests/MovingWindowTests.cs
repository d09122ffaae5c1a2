namespace Orleans.RateLimit.Tests;

public sealed class MovingWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, 500, TimeSpan.Zero);

    [Fact]
    public void Admits_the_amount_within_any_period()
    {
        var window = new MovingWindow(RateLimitItem.Parse("2/minute"));

        Assert.True(window.Hit(T0));
        Assert.True(window.Hit(T0.AddSeconds(30)));
        Assert.False(window.Hit(T0.AddSeconds(59)));
        // The first hit ages out at exactly T0 + 60 s; the second still counts until T0 + 90 s.
        Assert.True(window.Hit(T0.AddSeconds(60)));
        Assert.False(window.Hit(T0.AddSeconds(89)));
        Assert.True(window.Hit(T0.AddSeconds(90)));
    }

    [Fact]
    public void A_rejected_hit_consumes_nothing()
    {
        var window = new MovingWindow(RateLimitItem.Parse("2/minute"));
        window.Hit(T0);
        window.Hit(T0.AddSeconds(1));

        for (var i = 0; i < 10; i++)
        {
            Assert.False(window.Hit(T0.AddSeconds(2 + i)));
        }

        Assert.Equal(2, window.Save().Sum(b => b.Count));
        Assert.True(window.Hit(T0.AddSeconds(60)));
    }

    [Fact]
    public void Cost_above_the_limit_fails_and_records_nothing()
    {
        var window = new MovingWindow(RateLimitItem.Parse("5/minute"));

        Assert.False(window.Hit(T0, cost: 6));
        Assert.Empty(window.Save());
        Assert.True(window.Hit(T0, cost: 5));
        Assert.False(window.Hit(T0, cost: 1));
    }

    [Fact]
    public void Cost_needs_that_many_free_slots()
    {
        var window = new MovingWindow(RateLimitItem.Parse("5/minute"));
        window.Hit(T0, cost: 3);

        Assert.True(window.Test(T0.AddSeconds(1), cost: 2));
        Assert.False(window.Test(T0.AddSeconds(1), cost: 3));
        Assert.False(window.Hit(T0.AddSeconds(1), cost: 3));
        Assert.True(window.Hit(T0.AddSeconds(1), cost: 2));
    }

    [Fact]
    public void Stats_reset_when_the_oldest_hit_ages_out()
    {
        var window = new MovingWindow(RateLimitItem.Parse("3/minute"));
        window.Hit(T0);
        window.Hit(T0.AddSeconds(20));

        Assert.Equal(new WindowStats(1, T0.AddSeconds(60)), window.Stats(T0.AddSeconds(30)));
        // At exactly T0 + 60 s the first hit no longer counts, and the next reset is the second hit's.
        Assert.Equal(new WindowStats(2, T0.AddSeconds(80)), window.Stats(T0.AddSeconds(60)));
    }

    [Fact]
    public void Stats_of_an_empty_window_reset_one_period_from_now()
    {
        var window = new MovingWindow(RateLimitItem.Parse("3/minute"));

        Assert.Equal(new WindowStats(3, T0.AddMinutes(1)), window.Stats(T0));
    }

    [Fact]
    public void Test_changes_nothing()
    {
        var window = new MovingWindow(RateLimitItem.Parse("1/second"));
        window.Hit(T0);

        Assert.False(window.Test(T0.AddMilliseconds(999)));
        Assert.True(window.Test(T0.AddSeconds(1)));
        Assert.Equal(1, window.StoredRuns);
    }

    [Fact]
    public void Runs_keep_a_large_limit_with_cost_small()
    {
        var window = new MovingWindow(RateLimitItem.Parse("1000000/day"));

        for (var i = 0; i < 1_000; i++)
        {
            Assert.True(window.Hit(T0.AddSeconds(i), cost: 1_000));
        }

        Assert.False(window.Hit(T0.AddSeconds(1_000)));
        // Hits within a thousandth of a day (86.4 s) of a run's first hit share it: 12 runs for 1,000 hits over 1,000 s.
        Assert.Equal(12, window.StoredRuns);
        Assert.Equal(1_000_000, window.Save().Sum(run => run.Count));
        // The oldest run holds the hits of 0..86 s and ages out with the latest of them.
        Assert.Equal(new WindowStats(0, T0.AddSeconds(86).AddDays(1)), window.Stats(T0.AddSeconds(1_000)));
    }

    [Fact]
    public void Steady_traffic_keeps_about_a_thousand_runs_whatever_the_amount()
    {
        var window = new MovingWindow(RateLimitItem.Parse("1000000/second"));
        var admitted = 0;

        // 400,000 hits 5 µs apart: 200,000 per second, a fifth of the limit.
        for (var i = 0; i < 400_000; i++)
        {
            admitted += window.Hit(T0.AddTicks(i * 50L)) ? 1 : 0;
        }

        Assert.Equal(400_000, admitted);
        Assert.InRange(window.StoredRuns, 1_000, 1_001);
        Assert.InRange(window.Stats(T0.AddTicks(400_000 * 50L)).Remaining, 799_000, 800_000);
    }

    [Fact]
    public void Hits_sharing_a_run_age_out_with_the_latest_of_them_never_earlier()
    {
        // 2/minute: runs span a thousandth of a minute (60 ms).
        var window = new MovingWindow(RateLimitItem.Parse("2/minute"));

        Assert.True(window.Hit(T0));
        Assert.True(window.Hit(T0.AddMilliseconds(10)));
        Assert.Equal(1, window.StoredRuns);

        Assert.False(window.Hit(T0.AddSeconds(60)));
        Assert.Equal(new WindowStats(0, T0.AddSeconds(60).AddMilliseconds(10)), window.Stats(T0.AddSeconds(60)));
        Assert.True(window.Hit(T0.AddSeconds(60).AddMilliseconds(10)));
    }

    [Fact]
    public void Hits_further_apart_than_the_run_span_keep_their_own_times()
    {
        var window = new MovingWindow(RateLimitItem.Parse("3/minute"));

        window.Hit(T0);
        window.Hit(T0.AddMilliseconds(60));

        Assert.Equal([new WindowBucket(T0.UtcTicks, 1), new WindowBucket(T0.AddMilliseconds(60).UtcTicks, 1)], window.Save());
    }

    [Fact]
    public void Hits_at_one_instant_share_a_run()
    {
        var window = new MovingWindow(RateLimitItem.Parse("100/minute"));

        for (var i = 0; i < 50; i++)
        {
            window.Hit(T0);
        }

        Assert.Equal([new WindowBucket(T0.UtcTicks, 50)], window.Save());
    }

    [Fact]
    public void Expired_runs_are_pruned_by_later_hits()
    {
        var window = new MovingWindow(RateLimitItem.Parse("10/second"));
        for (var i = 0; i < 500; i++)
        {
            Assert.True(window.Hit(T0.AddMilliseconds(i * 200)));
        }

        Assert.Equal(5, window.StoredRuns);
        Assert.Equal(5, window.Stats(T0.AddMilliseconds(499 * 200)).Remaining);
    }

    [Fact]
    public void Zero_amount_rejects_every_hit()
    {
        var window = new MovingWindow(RateLimitItem.Parse("0/minute"));

        Assert.False(window.Hit(T0));
        Assert.False(window.Test(T0));
    }

    [Fact]
    public void Clear_forgets_every_hit()
    {
        var window = new MovingWindow(RateLimitItem.Parse("1/minute"));
        window.Hit(T0);

        window.Clear();

        Assert.True(window.Hit(T0));
        Assert.Null(new MovingWindow(RateLimitItem.Parse("1/minute")).ExpiresAt);
    }

    [Fact]
    public void Restore_unites_runs_of_two_copies_by_time()
    {
        var window = new MovingWindow(RateLimitItem.Parse("10/minute"));

        window.Restore(
            [new(T0.AddSeconds(5).UtcTicks, 2), new(T0.UtcTicks, 1), new(T0.AddSeconds(5).UtcTicks, 3), new(T0.AddMinutes(-1).UtcTicks, 7)],
            T0.AddSeconds(10));

        Assert.Equal([new WindowBucket(T0.UtcTicks, 1), new WindowBucket(T0.AddSeconds(5).UtcTicks, 5)], window.Save());
        Assert.Equal(new WindowStats(4, T0.AddSeconds(60)), window.Stats(T0.AddSeconds(10)));
    }
}
