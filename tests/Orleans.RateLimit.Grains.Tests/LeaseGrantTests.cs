using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// Budgets an owner grants to nodes: how big they are, how repeated and stale requests are answered, how they shrink as the
/// window fills and grow again when a node gives units back. Each test uses a partition count of its own, so that no other
/// test's windows or grants share its partition grain; the grain clock is the fixture's fake clock and is only moved forward.
/// </summary>
public sealed class LeaseGrantTests(TwoSiloCluster fixture) : IClassFixture<TwoSiloCluster>
{
    private static readonly long Minute = TimeSpan.FromMinutes(1).Ticks;

    private readonly InProcessTestCluster _cluster = fixture.Cluster;
    private readonly FakeTimeProvider _clock = fixture.Clock;

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow, 401)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter, 402)]
    public async Task The_first_grant_to_a_node_is_eight_units_already_spent_in_the_decision(RateLimitStrategy strategy, int partitions)
    {
        var window = TestWindows.Unique(strategy, "100000/minute");
        var owner = _cluster.FactoryOf(0).GetWindowOwner(window, partitions);
        var start = _clock.GetUtcNow().UtcTicks;

        var decision = await DecideOne(owner, Guid.NewGuid(), HitCall(window, sequence: 1));

        Assert.True(decision.Allowed);
        Assert.Equal(new LeaseGrant(8, 1, start, start + Minute), Unversioned(decision.Lease));

        // The hit and the 8 granted units are both spent in the decision's stats and in the window.
        Assert.Equal(99_991, decision.Stats.Remaining);
        Assert.Equal(99_991, (await _cluster.FactoryOf(1).StatsAsync(window, partitions)).Remaining);
    }

    [Fact]
    public async Task Grants_last_about_four_seconds_of_the_nodes_rate_and_hold_at_most_4096_units()
    {
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "100000/minute");
        var owner = _cluster.FactoryOf(0).GetWindowOwner(window, partitions: 403);
        var holder = Guid.NewGuid();
        var start = _clock.GetUtcNow().UtcTicks;

        var first = await DecideOne(owner, holder, HitCall(window, sequence: 1));
        Assert.Equal(8, first.Lease.Units);

        // 8 units used in 1 s: 4 s of that is 32.
        _clock.Advance(TimeSpan.FromSeconds(1));
        var second = await DecideOne(owner, holder, LeaseCall(window, sequence: 2));
        Assert.Equal(new LeaseGrant(32, 2, start, start + Minute), Unversioned(second.Lease));
        Assert.Equal(99_959, second.Stats.Remaining);

        // 32 in 2 s: 64.
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(64, (await DecideOne(owner, holder, LeaseCall(window, sequence: 3))).Lease.Units);

        // 64 in 0.5 s: 512.
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(512, (await DecideOne(owner, holder, LeaseCall(window, sequence: 4))).Lease.Units);

        // 512 in 0.1 s would be 20480: capped at 4096.
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        var capped = await DecideOne(owner, holder, LeaseCall(window, sequence: 5));
        Assert.Equal(4_096, capped.Lease.Units);

        // 4096 in 12 s: floor(1365.33) = 1365.
        _clock.Advance(TimeSpan.FromSeconds(12));
        var slower = await DecideOne(owner, holder, LeaseCall(window, sequence: 6));
        Assert.Equal(new LeaseGrant(1_365, 6, start, start + Minute), Unversioned(slower.Lease));

        // 1 hit + 8 + 32 + 64 + 512 + 4096 + 1365 = 6078 spent.
        Assert.Equal(93_922, slower.Stats.Remaining);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow, 404)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter, 405)]
    public async Task A_repeated_request_gets_its_grant_again_without_a_second_one_and_an_older_one_gets_nothing(
        RateLimitStrategy strategy, int partitions)
    {
        var window = TestWindows.Unique(strategy, "100/minute");
        var owner = _cluster.FactoryOf(0).GetWindowOwner(window, partitions);
        var holder = Guid.NewGuid();
        var start = _clock.GetUtcNow().UtcTicks;

        var first = await DecideOne(owner, holder, HitCall(window, sequence: 1));
        var repeated = await DecideOne(owner, holder, HitCall(window, sequence: 1));

        Assert.Equal(new LeaseGrant(8, 1, start, start + Minute), Unversioned(first.Lease));
        Assert.Equal(Unversioned(first.Lease), Unversioned(repeated.Lease));
        Assert.Equal(91, first.Stats.Remaining);

        // The repeated hit is a hit and counts; its grant is not taken a second time.
        Assert.Equal(90, repeated.Stats.Remaining);

        // A refill: 90 / (4 × 1 node) = 22, below the 32 that 8 units in 1 s call for.
        _clock.Advance(TimeSpan.FromSeconds(1));
        var refill = await DecideOne(owner, holder, LeaseCall(window, sequence: 2));
        var refillAgain = await DecideOne(owner, holder, LeaseCall(window, sequence: 2));

        Assert.Equal(new LeaseGrant(22, 2, start, start + Minute), Unversioned(refill.Lease));
        Assert.Equal(Unversioned(refill.Lease), Unversioned(refillAgain.Lease));
        Assert.Equal(68, refill.Stats.Remaining);
        Assert.Equal(68, refillAgain.Stats.Remaining);
        Assert.Equal(68, (await _cluster.FactoryOf(1).StatsAsync(window, partitions)).Remaining);

        // Older than the last request answered: nothing, neither for a refill nor with a hit (which still counts).
        var staleRefill = await DecideOne(owner, holder, LeaseCall(window, sequence: 1));
        var staleHit = await DecideOne(owner, holder, HitCall(window, sequence: 1));

        Assert.Equal(default(LeaseGrant), Unversioned(staleRefill.Lease));
        Assert.Equal(68, staleRefill.Stats.Remaining);
        Assert.True(staleHit.Allowed);
        Assert.Equal(default(LeaseGrant), Unversioned(staleHit.Lease));
        Assert.Equal(67, staleHit.Stats.Remaining);

        // A newer request is granted again: 67 / 4 = 16.
        var next = await DecideOne(owner, holder, LeaseCall(window, sequence: 3));
        Assert.Equal(new LeaseGrant(16, 3, start, start + Minute), Unversioned(next.Lease));
        Assert.Equal(51, next.Stats.Remaining);
    }

    [Fact]
    public async Task A_refill_or_release_for_a_window_nobody_hit_grants_nothing_and_creates_no_window()
    {
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "100/minute");
        var owner = _cluster.FactoryOf(1).GetWindowOwner(window, partitions: 406);
        Assert.Equal(0, await owner.Count());

        var decisions = await owner.DecideFor(
            Guid.NewGuid(),
            [LeaseCall(window, sequence: 1), ReleaseCall(window, units: 5, periodStartTicks: _clock.GetUtcNow().UtcTicks)]);

        Assert.Equal(2, decisions.Length);
        Assert.All(decisions, d => Assert.True(d.Allowed));
        Assert.All(decisions, d => Assert.Equal(default(LeaseGrant), Unversioned(d.Lease)));
        Assert.All(decisions, d => Assert.Equal(100, d.Stats.Remaining));
        Assert.Equal(0, await owner.Count());
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow, 407)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter, 408)]
    public async Task Near_the_limit_grants_shrink_to_nothing_and_never_exceed_it_with_two_holders(RateLimitStrategy strategy, int partitions)
    {
        var window = TestWindows.Unique(strategy, "10/minute");
        var a = (Owner: _cluster.FactoryOf(0).GetWindowOwner(window, partitions), Id: Guid.NewGuid());
        var b = (Owner: _cluster.FactoryOf(1).GetWindowOwner(window, partitions), Id: Guid.NewGuid());
        var start = _clock.GetUtcNow().UtcTicks;
        var admitted = 0L;
        var granted = 0L;

        async Task<WindowDecision> Step((IWindowPartitionGrain Owner, Guid Id) node, WindowCall call, long units, long remaining)
        {
            var decision = await DecideOne(node.Owner, node.Id, call);
            admitted += call.Operation == WindowOperation.Hit && decision.Allowed ? call.Cost : 0;
            granted += decision.Lease.Units;
            Assert.Equal(units, decision.Lease.Units);
            Assert.Equal(remaining, decision.Stats.Remaining);
            Assert.True(admitted + granted <= 10, $"{admitted} admitted and {granted} granted of 10.");
            return decision;
        }

        // A: 9 remain after its hit, one node holds: 9 / 4 = 2 (below the first grant of 8).
        var first = await Step(a, HitCall(window, 1), units: 2, remaining: 7);
        Assert.Equal(new LeaseGrant(2, 1, start, start + Minute), Unversioned(first.Lease));

        // B: 6 remain after its hit, and A holds a grant: 6 / (4 × 2) = 0. The empty grant still answers B's request.
        var empty = await Step(b, HitCall(window, 1), units: 0, remaining: 6);
        Assert.Equal(new LeaseGrant(0, 1, start, start + Minute), Unversioned(empty.Lease));

        // A refills a second later. B holds nothing, so only A counts: 6 / 4 = 1.
        _clock.Advance(TimeSpan.FromSeconds(1));
        var refill = await Step(a, LeaseCall(window, 2), units: 1, remaining: 5);
        Assert.Equal(new LeaseGrant(1, 2, start, start + Minute), Unversioned(refill.Lease));

        // From here every decision is the owner's.
        await Step(b, HitCall(window, 2), units: 0, remaining: 4);
        await Step(a, HitCall(window, 3), units: 0, remaining: 3);
        await Step(b, HitCall(window, 3), units: 0, remaining: 2);
        await Step(a, HitCall(window, 4), units: 0, remaining: 1);
        await Step(b, HitCall(window, 4), units: 0, remaining: 0);
        var refused = await Step(a, HitCall(window, 5), units: 0, remaining: 0);
        var refusedRefill = await Step(b, LeaseCall(window, 5), units: 0, remaining: 0);

        Assert.False(refused.Allowed);
        Assert.Equal(default(LeaseGrant), Unversioned(refused.Lease));
        Assert.True(refusedRefill.Allowed);
        Assert.Equal(7, admitted);
        Assert.Equal(3, granted);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow, 409)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter, 410)]
    public async Task Two_holders_refilling_each_take_an_eighth_of_what_remains_until_that_is_less_than_a_unit(
        RateLimitStrategy strategy, int partitions)
    {
        var window = TestWindows.Unique(strategy, "40/minute");
        var a = (Owner: _cluster.FactoryOf(0).GetWindowOwner(window, partitions), Id: Guid.NewGuid());
        var b = (Owner: _cluster.FactoryOf(1).GetWindowOwner(window, partitions), Id: Guid.NewGuid());

        // A: 39 / 4 = 9, capped at the first grant of 8; B: 30 / (4 × 2) = 3.
        var grants = new List<long>
        {
            (await DecideOne(a.Owner, a.Id, HitCall(window, 1))).Lease.Units,
            (await DecideOne(b.Owner, b.Id, HitCall(window, 1))).Lease.Units,
        };
        var remaining = new List<long>();

        // A second later both refill in turn, each taking what remains / 8 while both hold a grant.
        _clock.Advance(TimeSpan.FromSeconds(1));
        for (var sequence = 2; sequence <= 9; sequence++)
        {
            foreach (var node in new[] { a, b })
            {
                var decision = await DecideOne(node.Owner, node.Id, LeaseCall(window, sequence));
                grants.Add(decision.Lease.Units);
                remaining.Add(decision.Stats.Remaining);
            }
        }

        Assert.Equal([8L, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], grants);
        Assert.Equal([24L, 21, 19, 17, 15, 14, 13, 12, 11, 10, 9, 8, 7, 7, 7, 7], remaining);

        // The owner decides the last 7 itself, and not one more: 2 hits + 31 granted + 7 hits = 40.
        for (var i = 0; i < 7; i++)
        {
            Assert.True((await DecideOne(a.Owner, a.Id, HitCall(window, 10 + i))).Allowed);
        }

        Assert.False((await DecideOne(b.Owner, b.Id, HitCall(window, 10))).Allowed);
        Assert.Equal(0, (await _cluster.Client.StatsAsync(window, partitions)).Remaining);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow, 411, 412)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter, 413, 414)]
    public async Task A_release_gives_the_units_back_and_its_node_no_longer_takes_a_share(
        RateLimitStrategy strategy, int partitions, int controlPartitions)
    {
        // Two windows go through the same steps, except that in one A gives back 5 of its 8 units.
        var released = TestWindows.Unique(strategy, "100/minute");
        var control = TestWindows.Unique(strategy, "100/minute");
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        var owner = _cluster.FactoryOf(0).GetWindowOwner(released, partitions);
        var controlOwner = _cluster.FactoryOf(0).GetWindowOwner(control, controlPartitions);
        var start = _clock.GetUtcNow().UtcTicks;

        foreach (var (o, w) in new[] { (owner, released), (controlOwner, control) })
        {
            // A: 99 / 4 = 24, capped at 8; B: 90 / (4 × 2) = 11, capped at 8.
            Assert.Equal(8, (await DecideOne(o, a, HitCall(w, 1))).Lease.Units);
            var second = await DecideOne(o, b, HitCall(w, 1));
            Assert.Equal(8, second.Lease.Units);
            Assert.Equal(82, second.Stats.Remaining);
        }

        _clock.Advance(TimeSpan.FromSeconds(1));
        var release = await DecideOne(owner, a, ReleaseCall(released, units: 5, periodStartTicks: start));

        Assert.True(release.Allowed);
        Assert.Equal(default(LeaseGrant), Unversioned(release.Lease));
        Assert.Equal(87, release.Stats.Remaining);
        Assert.Equal(87, (await _cluster.FactoryOf(1).StatsAsync(released, partitions)).Remaining);

        // B refills, at a rate that calls for 32: with A still holding, 82 / (4 × 2) = 10; with A gone, 87 / 4 = 21.
        var withA = await DecideOne(controlOwner, b, LeaseCall(control, 2));
        var withoutA = await DecideOne(owner, b, LeaseCall(released, 2));

        Assert.Equal(new LeaseGrant(10, 2, start, start + Minute), Unversioned(withA.Lease));
        Assert.Equal(72, withA.Stats.Remaining);
        Assert.Equal(new LeaseGrant(21, 2, start, start + Minute), Unversioned(withoutA.Lease));
        Assert.Equal(66, withoutA.Stats.Remaining);

        // A asks again and holds again: 66 / (4 × 2) = 8, the 32 its rate calls for capped by its share.
        var again = await DecideOne(owner, a, LeaseCall(released, 2));
        Assert.Equal(new LeaseGrant(8, 2, start, start + Minute), Unversioned(again.Lease));
        Assert.Equal(58, again.Stats.Remaining);
    }

    [Fact]
    public async Task Returning_the_previous_periods_leftovers_keeps_a_node_that_holds_the_current_periods_grant_among_the_holders()
    {
        // A 5 s period, so the period rolls between two sweeps (every 10 s from the partition's first call): no sweep runs
        // in the new period and forgets what the nodes were granted before.
        var window = TestWindows.Unique(RateLimitStrategy.SlidingWindowCounter, "1000/5 seconds");
        var control = TestWindows.Unique(RateLimitStrategy.SlidingWindowCounter, "1000/5 seconds");
        var owner = _cluster.FactoryOf(0).GetWindowOwner(window, partitions: 418);
        var controlOwner = _cluster.FactoryOf(0).GetWindowOwner(control, partitions: 419);
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        var period = TimeSpan.FromSeconds(5).Ticks;
        var start = _clock.GetUtcNow().UtcTicks;

        foreach (var (o, w) in new[] { (owner, window), (controlOwner, control) })
        {
            // A: 999 / 4, capped at 8; B: 990 / (4 × 2), capped at 8. 18 counted.
            Assert.Equal(8, (await DecideOne(o, a, HitCall(w, 1))).Lease.Units);
            Assert.Equal(8, (await DecideOne(o, b, HitCall(w, 1))).Lease.Units);
        }

        // The next period, where the 18 still weigh fully at its start. A hits and is granted 6 of it (8 units in 5 s
        // call for 6.4), and holds that grant until the period ends.
        _clock.Advance(TimeSpan.FromTicks(period));
        var next = start + period;
        foreach (var (o, w) in new[] { (owner, window), (controlOwner, control) })
        {
            var hit = await DecideOne(o, a, HitCall(w, 2));
            Assert.Equal(new LeaseGrant(6, 2, next, next + period), Unversioned(hit.Lease));
            Assert.Equal(975, hit.Stats.Remaining);
        }

        // Having taken it, A gives back the 8 units it did not use of the period before, which still weigh on this one.
        var release = await DecideOne(owner, a, ReleaseCall(window, units: 8, periodStartTicks: start));
        Assert.Equal(983, release.Stats.Remaining);

        // B hits (granted 6 as well), then refills at once, when its rate calls for the most a grant holds: its share is
        // what remains divided among the 2 nodes holding a grant, whether A gave back old units or not.
        var controlHit = await DecideOne(controlOwner, b, HitCall(control, 2));
        var hitB = await DecideOne(owner, b, HitCall(window, 2));
        Assert.Equal((6L, 968L), (controlHit.Lease.Units, controlHit.Stats.Remaining));
        Assert.Equal((6L, 976L), (hitB.Lease.Units, hitB.Stats.Remaining));

        var controlRefill = await DecideOne(controlOwner, b, LeaseCall(control, 3));
        var refill = await DecideOne(owner, b, LeaseCall(window, 3));

        Assert.Equal(new LeaseGrant(968 / 8, 3, next, next + period), Unversioned(controlRefill.Lease));
        Assert.Equal(new LeaseGrant(976 / 8, 3, next, next + period), Unversioned(refill.Lease));
    }

    [Fact]
    public async Task A_release_for_a_period_other_than_the_grants_gives_nothing_back()
    {
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "100/minute");
        var owner = _cluster.FactoryOf(0).GetWindowOwner(window, partitions: 415);
        var holder = Guid.NewGuid();
        var grant = (await DecideOne(owner, holder, HitCall(window, 1))).Lease;
        Assert.Equal(8, grant.Units);

        var release = await DecideOne(owner, holder, ReleaseCall(window, units: 5, periodStartTicks: grant.PeriodStartTicks - 1));

        Assert.Equal(91, release.Stats.Remaining);
        Assert.Equal(91, (await _cluster.Client.StatsAsync(window, partitions: 415)).Remaining);
    }

    [Fact]
    public async Task Plain_decide_never_grants_even_when_a_call_asks_for_a_lease()
    {
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "100/minute");
        var owner = _cluster.FactoryOf(0).GetWindowOwner(window, partitions: 416);
        var start = _clock.GetUtcNow().UtcTicks;

        var plain = await owner.Decide([HitCall(window, 1), LeaseCall(window, 2), HitCall(window, 3)]);
        var emptyHolder = await owner.DecideFor(Guid.Empty, [HitCall(window, 4), LeaseCall(window, 5)]);

        Assert.Equal([true, true, true], plain.Select(d => d.Allowed));
        Assert.All(plain.Concat(emptyHolder), d => Assert.Equal(default(LeaseGrant), Unversioned(d.Lease)));
        Assert.Equal([99L, 99, 98], plain.Select(d => d.Stats.Remaining));
        Assert.Equal([97L, 97], emptyHolder.Select(d => d.Stats.Remaining));

        // The window does lease, to a node that names itself: 96 / 4 = 24, capped at the first grant.
        var node = await DecideOne(owner, Guid.NewGuid(), HitCall(window, 1));
        Assert.Equal(new LeaseGrant(8, 1, start, start + Minute), Unversioned(node.Lease));
        Assert.Equal(88, node.Stats.Remaining);
    }

    [Fact]
    public async Task Plain_decide_cannot_give_back_units_it_was_never_granted()
    {
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/minute");
        var owner = _cluster.FactoryOf(0).GetWindowOwner(window, partitions: 420);
        var start = _clock.GetUtcNow().UtcTicks;
        var hits = await owner.Decide([.. Enumerable.Repeat(HitCall(window, 0), 10)]);
        Assert.All(hits, d => Assert.True(d.Allowed));

        var release = await owner.Decide([ReleaseCall(window, units: 10, periodStartTicks: start)]);
        var more = await owner.Decide([.. Enumerable.Repeat(HitCall(window, 0), 10)]);

        Assert.Equal(0, Assert.Single(release).Stats.Remaining);
        Assert.All(more, d => Assert.False(d.Allowed));
    }

    [Fact]
    public async Task A_moving_window_never_grants()
    {
        var window = TestWindows.Unique(RateLimitStrategy.MovingWindow, "100/minute");
        var owner = _cluster.FactoryOf(1).GetWindowOwner(window, partitions: 417);
        var holder = Guid.NewGuid();

        var decisions = await owner.DecideFor(holder, [HitCall(window, 1), LeaseCall(window, 2), HitCall(window, 3)]);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var later = await DecideOne(owner, holder, LeaseCall(window, 4));

        Assert.Equal([true, true, true], decisions.Select(d => d.Allowed));
        Assert.All(decisions.Append(later), d => Assert.Equal(default(LeaseGrant), Unversioned(d.Lease)));
        Assert.Equal([99L, 99, 98], decisions.Select(d => d.Stats.Remaining));
        Assert.Equal(98, later.Stats.Remaining);
    }

    private static async Task<WindowDecision> DecideOne(IWindowPartitionGrain owner, Guid holder, WindowCall call) =>
        Assert.Single(await owner.DecideFor(holder, [call]));

    private static WindowCall HitCall(RateLimitWindowKey window, long sequence) =>
        new(new WindowRef(window), WindowOperation.Hit, 1, StopIfRefused: false, LeaseSequence: sequence);

    private static WindowCall LeaseCall(RateLimitWindowKey window, long sequence) =>
        new(new WindowRef(window), WindowOperation.Lease, 0, StopIfRefused: false, LeaseSequence: sequence);

    private static WindowCall ReleaseCall(RateLimitWindowKey window, int units, long periodStartTicks) =>
        new(new WindowRef(window), WindowOperation.Release, units, StopIfRefused: false, LeasePeriodStartTicks: periodStartTicks);

    /// <summary>A grant without the window version it carries, which counts every change the test does not spell out.</summary>
    private static LeaseGrant Unversioned(LeaseGrant grant) => grant with { WindowVersion = 0 };
}
