namespace Orleans.RateLimit.Tests;

/// <summary>
/// Leasing from a window: a grant takes units of the current period and counts them as spent at once; a release gives them
/// back while their period still counts. The fixed window and the sliding-window counter lease; the moving window does not.
/// </summary>
public sealed class WindowLeaseMathTests
{
    // A fractional start, as the other window tests use, so truncation mistakes show.
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, 500, TimeSpan.Zero);

    private static readonly long Minute = TimeSpan.FromMinutes(1).Ticks;

    private static (RateLimitWindow Window, ILeasableWindow Leasable) Create(RateLimitStrategy strategy, string limit)
    {
        var window = RateLimitWindow.Create(strategy, RateLimitItem.Parse(limit));
        return (window, Assert.IsAssignableFrom<ILeasableWindow>(window));
    }

    [Fact]
    public void The_fixed_window_and_the_sliding_counter_lease_and_the_moving_window_does_not()
    {
        var limit = RateLimitItem.Parse("10/minute");

        Assert.IsAssignableFrom<ILeasableWindow>(RateLimitWindow.Create(RateLimitStrategy.FixedWindow, limit));
        Assert.IsAssignableFrom<ILeasableWindow>(RateLimitWindow.Create(RateLimitStrategy.SlidingWindowCounter, limit));
        Assert.False(RateLimitWindow.Create(RateLimitStrategy.MovingWindow, limit) is ILeasableWindow);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public void A_grant_counts_as_spent_at_once(RateLimitStrategy strategy)
    {
        var (window, leasable) = Create(strategy, "10/minute");
        Assert.True(window.Hit(T0));

        var grant = leasable.Grant(T0.AddSeconds(1), 4);

        Assert.Equal(new WindowGrant(4, T0.UtcTicks, T0.UtcTicks + Minute), grant);
        Assert.Equal(5, window.Stats(T0.AddSeconds(1)).Remaining);
        Assert.Equal([new WindowBucket(T0.UtcTicks, 5)], window.Save());
        Assert.True(window.Test(T0.AddSeconds(2), cost: 5));
        Assert.False(window.Test(T0.AddSeconds(2), cost: 6));

        // A later hit sees the granted units as spent: 1 + 4 + 5 = 10, and nothing more fits.
        Assert.True(window.Hit(T0.AddSeconds(2), cost: 5));
        Assert.Equal(0, window.Stats(T0.AddSeconds(2)).Remaining);
        Assert.False(window.Hit(T0.AddSeconds(3)));
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public void A_grant_takes_at_most_what_remains_and_then_nothing(RateLimitStrategy strategy)
    {
        var (window, leasable) = Create(strategy, "10/minute");
        for (var i = 0; i < 3; i++)
        {
            Assert.True(window.Hit(T0.AddSeconds(i)));
        }

        var grant = leasable.Grant(T0.AddSeconds(5), 100);

        Assert.Equal(new WindowGrant(7, T0.UtcTicks, T0.UtcTicks + Minute), grant);
        Assert.Equal(0, window.Stats(T0.AddSeconds(5)).Remaining);
        Assert.False(window.Test(T0.AddSeconds(5)));
        var version = window.Version;

        // Nothing left: the grant names the running period and holds nothing.
        Assert.Equal(new WindowGrant(0, T0.UtcTicks, T0.UtcTicks + Minute), leasable.Grant(T0.AddSeconds(6), 1));
        Assert.Equal(new WindowGrant(0, T0.UtcTicks, T0.UtcTicks + Minute), leasable.Grant(T0.AddSeconds(6), 100));
        Assert.Equal(version, window.Version);
        Assert.Equal([new WindowBucket(T0.UtcTicks, 10)], window.Save());
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public void Asking_for_zero_or_fewer_units_grants_nothing(RateLimitStrategy strategy)
    {
        var (window, leasable) = Create(strategy, "10/minute");
        window.Hit(T0);
        var version = window.Version;

        Assert.Equal(new WindowGrant(0, T0.UtcTicks, T0.UtcTicks + Minute), leasable.Grant(T0, 0));
        Assert.Equal(new WindowGrant(0, T0.UtcTicks, T0.UtcTicks + Minute), leasable.Grant(T0, -5));

        Assert.Equal(9, window.Stats(T0).Remaining);
        Assert.Equal(version, window.Version);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public void An_empty_window_grants_nothing_and_is_not_opened(RateLimitStrategy strategy)
    {
        var (window, leasable) = Create(strategy, "10/minute");

        Assert.Equal(WindowGrant.None, leasable.Grant(T0, 5));

        Assert.Equal(new WindowStats(10, T0), window.Stats(T0));
        Assert.Empty(window.Save());
        Assert.Null(window.ExpiresAt);
        Assert.Equal(0, window.Version);
    }

    [Fact]
    public void A_fixed_window_grants_until_its_last_tick_and_nothing_once_it_ended()
    {
        var window = new FixedWindow(RateLimitItem.Parse("10/minute"));
        window.Hit(T0);
        var end = T0.AddMinutes(1);

        Assert.Equal(new WindowGrant(2, T0.UtcTicks, end.UtcTicks), window.Grant(end.AddTicks(-1), 2));
        var version = window.Version;

        // The period ended: the grant neither takes from it nor opens a new one.
        Assert.Equal(WindowGrant.None, window.Grant(end, 5));
        Assert.Equal(WindowGrant.None, window.Grant(end.AddSeconds(30), 5));
        Assert.Equal(new WindowStats(10, end), window.Stats(end));
        Assert.Equal([new WindowBucket(T0.UtcTicks, 3)], window.Save());
        Assert.Equal(end, window.ExpiresAt);
        Assert.Equal(version, window.Version);
    }

    [Fact]
    public void A_sliding_counter_grants_from_the_period_after_its_anchor_but_nothing_once_two_have_passed()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("10/minute"));
        window.Hit(T0, cost: 4);
        var next = T0.AddMinutes(1);

        // 15 s into the next period the previous 4 weigh floor(4 × 45/60) = 3: 7 remain, and the grant joins the new period.
        Assert.Equal(new WindowGrant(7, next.UtcTicks, next.UtcTicks + Minute), window.Grant(next.AddSeconds(15), 100));
        Assert.Equal(0, window.Stats(next.AddSeconds(15)).Remaining);
        Assert.Equal([new WindowBucket(T0.UtcTicks, 4), new WindowBucket(next.UtcTicks, 7)], window.Save());

        var other = new SlidingWindowCounter(RateLimitItem.Parse("10/minute"));
        other.Hit(T0, cost: 4);
        var version = other.Version;

        Assert.Equal(WindowGrant.None, other.Grant(T0.AddMinutes(2), 5));
        Assert.Equal(WindowGrant.None, other.Grant(T0.AddMinutes(5), 5));
        Assert.Equal([new WindowBucket(T0.UtcTicks, 4)], other.Save());
        Assert.Equal(version, other.Version);
    }

    [Fact]
    public void A_sliding_counter_grants_only_what_the_weighted_count_leaves()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("10/minute"));
        var next = T0.AddMinutes(1);
        window.Restore([new WindowBucket(T0.UtcTicks, 10), new WindowBucket(next.UtcTicks, 0)], next);

        // 30 s in, the previous 10 weigh 5.
        Assert.Equal(new WindowGrant(5, next.UtcTicks, next.UtcTicks + Minute), window.Grant(next.AddSeconds(30), 8));
        Assert.False(window.Test(next.AddSeconds(30)));

        // 54 s in they weigh floor(10 × 6/60) = 1, so 1 + 5 leave 4.
        Assert.Equal(4, window.Stats(next.AddSeconds(54)).Remaining);
        Assert.Equal(new WindowGrant(4, next.UtcTicks, next.UtcTicks + Minute), window.Grant(next.AddSeconds(54), 8));
        Assert.Equal(0, window.Stats(next.AddSeconds(54)).Remaining);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public void A_release_in_the_same_period_gives_the_units_back(RateLimitStrategy strategy)
    {
        var (window, leasable) = Create(strategy, "10/minute");
        window.Hit(T0);
        var grant = leasable.Grant(T0, 6);
        Assert.Equal(6, grant.Units);
        Assert.Equal(3, window.Stats(T0.AddSeconds(10)).Remaining);

        leasable.Release(T0.AddSeconds(10), 4, grant.PeriodStartTicks);

        Assert.Equal(7, window.Stats(T0.AddSeconds(10)).Remaining);
        Assert.Equal([new WindowBucket(T0.UtcTicks, 3)], window.Save());
        Assert.True(window.Hit(T0.AddSeconds(11), cost: 7));
        Assert.False(window.Test(T0.AddSeconds(11)));
    }

    [Fact]
    public void A_fixed_window_ignores_a_release_for_any_other_period()
    {
        var window = new FixedWindow(RateLimitItem.Parse("10/minute"));
        window.Hit(T0);
        var grant = window.Grant(T0, 6);
        var version = window.Version;

        window.Release(T0.AddSeconds(1), 4, grant.PeriodStartTicks - 1);
        window.Release(T0.AddSeconds(1), 4, grant.PeriodStartTicks + 1);
        window.Release(T0.AddSeconds(1), 4, grant.PeriodStartTicks + Minute);

        Assert.Equal(3, window.Stats(T0.AddSeconds(1)).Remaining);
        Assert.Equal(version, window.Version);

        // Once the period ended its units count for nothing, so giving them back changes nothing either...
        window.Release(T0.AddMinutes(1), 4, grant.PeriodStartTicks);
        Assert.Equal([new WindowBucket(T0.UtcTicks, 7)], window.Save());
        Assert.Equal(version, window.Version);

        // ...and they are not taken off the window that follows.
        var next = T0.AddMinutes(1).AddSeconds(5);
        window.Hit(next, cost: 2);
        window.Release(next, 4, grant.PeriodStartTicks);
        Assert.Equal(8, window.Stats(next).Remaining);
        Assert.Equal([new WindowBucket(next.UtcTicks, 2)], window.Save());
    }

    [Fact]
    public void A_sliding_counter_ignores_a_release_for_a_period_that_no_longer_or_not_yet_counts()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("10/minute"));
        window.Hit(T0);
        var grant = window.Grant(T0, 6);
        var version = window.Version;

        // A period that has not begun, and a start that is no period of this window.
        window.Release(T0.AddSeconds(1), 4, grant.PeriodStartTicks + Minute);
        window.Release(T0.AddSeconds(1), 4, grant.PeriodStartTicks + 1);

        Assert.Equal(3, window.Stats(T0.AddSeconds(1)).Remaining);
        Assert.Equal([new WindowBucket(T0.UtcTicks, 7)], window.Save());
        Assert.Equal(version, window.Version);

        // The period before the anchor held nothing: releasing from it takes nothing off the current one.
        window.Release(T0.AddSeconds(1), 4, grant.PeriodStartTicks - Minute);
        Assert.Equal(3, window.Stats(T0.AddSeconds(1)).Remaining);
        Assert.Equal([new WindowBucket(T0.UtcTicks, 7)], window.Save());
        version = window.Version;

        // Two periods later nothing of the grant weighs any more, and its release does nothing.
        window.Release(T0.AddMinutes(2), 4, grant.PeriodStartTicks);
        Assert.Equal([new WindowBucket(T0.UtcTicks, 7)], window.Save());
        Assert.Equal(version, window.Version);

        // Re-anchored by a later hit: the old period is neither the current one nor the one before it.
        var later = T0.AddMinutes(2).AddSeconds(10);
        window.Hit(later, cost: 2);
        window.Release(later, 4, grant.PeriodStartTicks);
        Assert.Equal([new WindowBucket(later.UtcTicks, 2)], window.Save());
        Assert.Equal(8, window.Stats(later).Remaining);
    }

    [Fact]
    public void A_sliding_counter_takes_units_released_after_the_roll_off_the_previous_counter()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("10/minute"));
        window.Hit(T0);
        var grant = window.Grant(T0, 8);
        Assert.Equal(new WindowGrant(8, T0.UtcTicks, T0.UtcTicks + Minute), grant);
        var next = T0.AddMinutes(1);
        var at = next.AddSeconds(15);

        // 15 s into the next period the previous 9 weigh floor(9 × 45/60) = floor(6.75) = 6.
        Assert.Equal(4, window.Stats(at).Remaining);
        Assert.True(window.Test(at, cost: 4));
        Assert.False(window.Test(at, cost: 5));

        window.Release(at, 5, grant.PeriodStartTicks);

        // Now the previous 4 weigh floor(4 × 45/60) = 3.
        Assert.Equal([new WindowBucket(T0.UtcTicks, 4), new WindowBucket(next.UtcTicks, 0)], window.Save());
        Assert.Equal(7, window.Stats(at).Remaining);
        Assert.True(window.Test(at, cost: 7));
        Assert.False(window.Test(at, cost: 8));

        // Their weight keeps fading: floor(4 × 15/60) = 1 at 45 s in, nothing at the period's end.
        Assert.Equal(9, window.Stats(next.AddSeconds(45)).Remaining);
        Assert.Equal(10, window.Stats(next.AddMinutes(1).AddTicks(-1)).Remaining);
    }

    [Fact]
    public void A_sliding_counter_takes_units_of_the_new_period_off_the_current_counter_after_the_roll()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("10/minute"));
        window.Hit(T0, cost: 4);
        var next = T0.AddMinutes(1);
        var at = next.AddSeconds(30);

        // The previous 4 weigh 2 at 30 s in: 8 remain, 5 granted from the new period.
        var grant = window.Grant(at, 5);
        Assert.Equal(new WindowGrant(5, next.UtcTicks, next.UtcTicks + Minute), grant);
        Assert.Equal(3, window.Stats(at).Remaining);

        window.Release(at.AddSeconds(1), 2, grant.PeriodStartTicks);

        Assert.Equal([new WindowBucket(T0.UtcTicks, 4), new WindowBucket(next.UtcTicks, 3)], window.Save());
        Assert.Equal(5, window.Stats(at).Remaining);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public void A_release_never_drives_the_count_below_zero(RateLimitStrategy strategy)
    {
        var (window, leasable) = Create(strategy, "10/minute");
        window.Hit(T0);
        var grant = leasable.Grant(T0, 2);
        Assert.Equal(2, grant.Units);

        leasable.Release(T0.AddSeconds(1), 100, grant.PeriodStartTicks);

        Assert.Equal([new WindowBucket(T0.UtcTicks, 0)], window.Save());
        Assert.Equal(10, window.Stats(T0.AddSeconds(1)).Remaining);

        // Exactly the limit fits again, not one more.
        Assert.True(window.Hit(T0.AddSeconds(2), cost: 10));
        Assert.False(window.Hit(T0.AddSeconds(3)));
        Assert.Equal(0, window.Stats(T0.AddSeconds(3)).Remaining);
    }

    [Fact]
    public void A_sliding_counter_release_after_the_roll_never_drives_the_previous_counter_below_zero()
    {
        var window = new SlidingWindowCounter(RateLimitItem.Parse("10/minute"));
        window.Hit(T0);
        var grant = window.Grant(T0, 8);
        var at = T0.AddMinutes(1).AddSeconds(15);

        window.Release(at, 100, grant.PeriodStartTicks);

        Assert.Equal([new WindowBucket(T0.AddMinutes(1).UtcTicks, 0)], window.Save());
        Assert.Equal(10, window.Stats(at).Remaining);
        Assert.True(window.Hit(at, cost: 10));
        Assert.False(window.Test(at));
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public void Grants_and_releases_change_the_version_and_empty_ones_do_not(RateLimitStrategy strategy)
    {
        var (window, leasable) = Create(strategy, "10/minute");
        window.Hit(T0);
        var version = window.Version;

        var grant = leasable.Grant(T0, 5);
        Assert.Equal(5, grant.Units);
        Assert.Equal(version + 1, window.Version);

        leasable.Release(T0, 2, grant.PeriodStartTicks);
        Assert.Equal(version + 2, window.Version);

        // Nothing granted, nothing given back: nothing new to persist.
        leasable.Release(T0, 0, grant.PeriodStartTicks);
        leasable.Release(T0, -3, grant.PeriodStartTicks);
        leasable.Release(T0, 2, grant.PeriodStartTicks + Minute);
        Assert.Equal(new WindowGrant(0, T0.UtcTicks, T0.UtcTicks + Minute), leasable.Grant(T0, 0));
        Assert.Equal(version + 2, window.Version);

        Assert.Equal(6, window.Stats(T0).Remaining);
    }
}
