namespace Orleans.RateLimit.Tests;

/// <summary>The version tells an owner whether there is anything new to persist.</summary>
public sealed class WindowVersionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, 500, TimeSpan.Zero);

    [Theory]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public void Rejected_hits_tests_and_stats_leave_the_version_alone(RateLimitStrategy strategy)
    {
        var window = RateLimitWindow.Create(strategy, RateLimitItem.Parse("2/minute"));
        Assert.True(window.Hit(T0, cost: 2));
        var version = window.Version;

        Assert.False(window.Hit(T0.AddSeconds(1)));
        Assert.False(window.Hit(T0.AddSeconds(2), cost: 5));
        window.Test(T0.AddSeconds(3));
        window.Stats(T0.AddSeconds(4));

        Assert.Equal(version, window.Version);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public void Counted_hits_clears_and_restores_change_the_version(RateLimitStrategy strategy)
    {
        var window = RateLimitWindow.Create(strategy, RateLimitItem.Parse("5/minute"));
        var versions = new List<long> { window.Version };

        window.Hit(T0);
        versions.Add(window.Version);
        window.Clear();
        versions.Add(window.Version);
        window.Restore([new WindowBucket(T0.UtcTicks, 1)], T0);
        versions.Add(window.Version);

        Assert.Equal(versions.Count, versions.Distinct().Count());
    }

    [Fact]
    public void A_fixed_windows_failed_hit_changes_the_version_because_it_counts()
    {
        var window = new FixedWindow(RateLimitItem.Parse("1/minute"));
        window.Hit(T0);
        var version = window.Version;

        Assert.False(window.Hit(T0.AddSeconds(1)));

        Assert.NotEqual(version, window.Version);
        Assert.Equal(version + 1, window.Version);
    }
}
