using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// One request's windows go to their owner in one call: decided in order, in one turn, stopping at the first refusal that
/// says so. Each test uses a partition count of its own, so that no other test's windows share its partition grain.
/// </summary>
public sealed class BatchDecideTests(TwoSiloCluster fixture) : IClassFixture<TwoSiloCluster>
{
    private readonly InProcessTestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task A_batch_is_decided_in_order_and_stops_after_a_refusal_marked_stop_if_refused()
    {
        var client = Guid.NewGuid().ToString("N");
        var application = TestWindows.Of(client, "1/minute", scope: "application");
        var route = TestWindows.Of(client, "10/minute", scope: "route");
        var owner = _cluster.Client.GetWindowOwner(application, partitions: 3);

        var first = await owner.Decide([Hit(application, stop: true), Hit(route, stop: true)]);
        var second = await owner.Decide([Hit(application, stop: true), Hit(route, stop: true)]);
        var third = await owner.Decide([Hit(application, stop: false), Hit(route, stop: true)]);

        Assert.Equal([true, true], first.Select(d => d.Allowed));
        Assert.Equal([9L], first.Skip(1).Select(d => d.Stats.Remaining));

        // The application window refuses and says stop: the route window is neither decided nor counted.
        var refused = Assert.Single(second);
        Assert.False(refused.Allowed);

        // Refused without stop: the rest of the batch is decided.
        Assert.Equal([false, true], third.Select(d => d.Allowed));
        Assert.Equal(8, third[1].Stats.Remaining);
        Assert.Equal(8, (await _cluster.FactoryOf(1).StatsAsync(route, partitions: 3)).Remaining);
    }

    [Fact]
    public async Task A_phase_end_stops_the_batch_after_any_refusal_even_one_that_did_not_stop()
    {
        var client = Guid.NewGuid().ToString("N");
        var application = TestWindows.Of(client, "1/minute", scope: "application");
        var hourly = TestWindows.Of(client, "10/hour", scope: "application");
        var route = TestWindows.Of(client, "10/minute", scope: "route");
        var owner = _cluster.Client.GetWindowOwner(application, partitions: 7);
        WindowCall[] TwoPhases() =>
        [
            Hit(application, stop: false),
            Hit(hourly, stop: false) with { StopIfAnyRefused = true },
            Hit(route, stop: false),
        ];

        var first = await owner.Decide(TwoPhases());
        var second = await owner.Decide(TwoPhases());

        Assert.Equal([true, true, true], first.Select(d => d.Allowed));

        // Fail-on-first-breach off: the refused application window does not stop the phase, its end does.
        Assert.Equal([false, true], second.Select(d => d.Allowed));
        Assert.Equal(8, second[1].Stats.Remaining);
        Assert.Equal(9, (await _cluster.FactoryOf(1).StatsAsync(route, partitions: 7)).Remaining);
    }

    [Fact]
    public async Task Calls_on_one_window_in_one_batch_see_each_other_in_order()
    {
        var window = TestWindows.Unique(RateLimitStrategy.MovingWindow, "3/minute");
        var owner = _cluster.Client.GetWindowOwner(window, partitions: 5);
        var id = new WindowRef(window);

        var decisions = await owner.Decide(
        [
            new WindowCall(id, WindowOperation.Test, 3, StopIfRefused: false),
            new WindowCall(id, WindowOperation.Hit, 2, StopIfRefused: false),
            new WindowCall(id, WindowOperation.Test, 2, StopIfRefused: false),
            new WindowCall(id, WindowOperation.Hit, 1, StopIfRefused: false),
            new WindowCall(id, WindowOperation.Stats, 0, StopIfRefused: false),
            new WindowCall(id, WindowOperation.Hit, 1, StopIfRefused: true),
            new WindowCall(id, WindowOperation.Hit, 1, StopIfRefused: true),
        ]);

        Assert.Equal([true, true, false, true, true, false], decisions.Select(d => d.Allowed));
        Assert.Equal([3L, 1L, 1L, 0L, 0L, 0L], decisions.Select(d => d.Stats.Remaining));
    }

    [Fact]
    public async Task Tests_and_stats_never_create_a_window()
    {
        var client = Guid.NewGuid().ToString("N");
        var meta = TestWindows.Of(client, "2/hour", scope: "meta");
        var route = TestWindows.Of(client, "5/minute", scope: "route");
        var owner = _cluster.Client.GetWindowOwner(meta, partitions: 1);
        Assert.Equal(0, await owner.Count());

        var tested = await owner.Decide(
        [
            new WindowCall(new WindowRef(meta), WindowOperation.Test, 1, StopIfRefused: true),
            new WindowCall(new WindowRef(route), WindowOperation.Test, 6, StopIfRefused: false),
            new WindowCall(new WindowRef(route), WindowOperation.Stats, 0, StopIfRefused: false),
        ]);
        for (var i = 0; i < 20; i++)
        {
            await _cluster.FactoryOf(i % 2).TestAsync(TestWindows.Of(client + i, "1/minute"), partitions: 1);
        }

        Assert.Equal([true, false, true], tested.Select(d => d.Allowed));
        Assert.Equal([2L, 5L, 5L], tested.Select(d => d.Stats.Remaining));
        Assert.Equal(0, await owner.Count());

        // A hit does create its window.
        await owner.Decide([new WindowCall(new WindowRef(meta), WindowOperation.Test, 1, true), Hit(route, stop: true)]);
        Assert.Equal(1, await owner.Count());
        Assert.Equal(4, (await _cluster.Client.StatsAsync(route, partitions: 1)).Remaining);
    }

    private static WindowCall Hit(RateLimitWindowKey window, bool stop) => new(new WindowRef(window), WindowOperation.Hit, 1, stop);
}
