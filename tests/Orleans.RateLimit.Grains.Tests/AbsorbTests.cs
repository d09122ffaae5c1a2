using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// Hits a node admitted in memory while it could not reach the owner, handed to the owner afterwards: counted in the
/// running period if it had begun when they were admitted, never past the limit, and nothing otherwise. Each test uses a
/// partition count of its own; the grain clock is the fixture's fake clock, only moved forward.
/// </summary>
public sealed class AbsorbTests(TwoSiloCluster fixture) : IClassFixture<TwoSiloCluster>
{
    private readonly InProcessTestCluster _cluster = fixture.Cluster;
    private readonly FakeTimeProvider _clock = fixture.Clock;

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow, 430)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter, 431)]
    public async Task Hits_admitted_elsewhere_count_in_the_running_period_up_to_the_limit(RateLimitStrategy strategy, int partitions)
    {
        var window = TestWindows.Unique(strategy, "10/minute");
        var owner = _cluster.FactoryOf(0).GetWindowOwner(window, partitions);
        Assert.True((await DecideOne(owner, Call(window, WindowOperation.Hit, 1, 0))).Allowed);
        var admittedAt = _clock.GetUtcNow().UtcTicks;
        _clock.Advance(TimeSpan.FromSeconds(5));

        var absorbed = await DecideOne(owner, Call(window, WindowOperation.Absorb, 4, admittedAt));
        Assert.Equal(5, absorbed.Stats.Remaining);

        // Never past the limit: 20 more fill the window to 10 and no further.
        var capped = await DecideOne(owner, Call(window, WindowOperation.Absorb, 20, admittedAt));
        Assert.Equal(0, capped.Stats.Remaining);
        Assert.False((await DecideOne(owner, Call(window, WindowOperation.Hit, 1, 0))).Allowed);
    }

    [Fact]
    public async Task Hits_admitted_before_the_running_period_began_count_for_nothing()
    {
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/minute");
        var owner = _cluster.FactoryOf(1).GetWindowOwner(window, partitions: 432);
        var admittedAt = _clock.GetUtcNow().UtcTicks;
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await DecideOne(owner, Call(window, WindowOperation.Hit, 1, 0))).Allowed);

        var absorbed = await DecideOne(owner, Call(window, WindowOperation.Absorb, 4, admittedAt));

        Assert.Equal(9, absorbed.Stats.Remaining);
    }

    [Fact]
    public async Task Hits_for_a_window_nobody_has_opened_do_not_open_it()
    {
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/minute");
        var owner = _cluster.FactoryOf(0).GetWindowOwner(window, partitions: 433);

        var absorbed = await DecideOne(owner, Call(window, WindowOperation.Absorb, 4, _clock.GetUtcNow().UtcTicks));

        Assert.True(absorbed.Allowed);
        Assert.Equal(10, absorbed.Stats.Remaining);
        Assert.Equal(0, await owner.Count());
    }

    private static async Task<WindowDecision> DecideOne(IWindowPartitionGrain owner, WindowCall call) =>
        Assert.Single(await owner.Decide([call]));

    private static WindowCall Call(RateLimitWindowKey window, WindowOperation operation, int cost, long admittedAtTicks) =>
        new(new WindowRef(window), operation, cost, StopIfRefused: false, LeasePeriodStartTicks: admittedAtTicks);
}
