using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

public sealed class TwoSiloCluster : IAsyncLifetime
{
    public FakeTimeProvider Clock { get; } = new(TestClusters.Start);

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await TestClusters.StartAsync(2, Clock);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>Windows counted by their partition owners in a two-silo cluster, state in memory.</summary>
public sealed class ClusterWindowTests(TwoSiloCluster fixture) : IClassFixture<TwoSiloCluster>
{
    private readonly InProcessTestCluster _cluster = fixture.Cluster;

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task Hundred_concurrent_hits_from_both_silos_admit_exactly_five(RateLimitStrategy strategy)
    {
        var window = TestWindows.Unique(strategy, "5/minute");
        var factories = new[] { _cluster.FactoryOf(0), _cluster.FactoryOf(1) };
        using var start = new ManualResetEventSlim();

        var calls = Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await factories[i % 2].HitAsync(window);
        })).ToList();
        start.Set();
        var decisions = await Task.WhenAll(calls);

        Assert.Equal(5, decisions.Count(d => d.Allowed));
        Assert.Equal(95, decisions.Count(d => !d.Allowed));
        Assert.Equal(0, (await factories[1].StatsAsync(window)).Remaining);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task Hits_from_both_silos_on_one_window_add_up_exactly(RateLimitStrategy strategy)
    {
        var window = TestWindows.Unique(strategy, "1000/hour");
        var calls = Enumerable.Range(0, 60)
            .Select(i => Task.Run(async () => await _cluster.FactoryOf(i % 2).HitAsync(window, cost: 1 + (i % 3))))
            .ToList();

        var decisions = await Task.WhenAll(calls);

        // 20 hits each of cost 1, 2 and 3.
        Assert.All(decisions, d => Assert.True(d.Allowed));
        Assert.Equal(1000 - 120, (await _cluster.FactoryOf(0).StatsAsync(window)).Remaining);
        Assert.Equal(1000 - 120, (await _cluster.FactoryOf(1).StatsAsync(window)).Remaining);

        // Each decision carries the window right after its own hit: no two hits saw the same count.
        Assert.Equal(60, decisions.Select(d => d.Stats.Remaining).Distinct().Count());
        Assert.Equal(1000 - 120, decisions.Min(d => d.Stats.Remaining));
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task Partitions_read_time_from_the_clock_in_DI(RateLimitStrategy strategy)
    {
        var window = TestWindows.Unique(strategy, "2/hour");
        var grains = _cluster.Client;

        Assert.True((await grains.HitAsync(window, 2)).Allowed);
        var rejected = await grains.HitAsync(window);
        Assert.False(rejected.Allowed);
        Assert.Equal(0, rejected.Stats.Remaining);

        // Two whole periods later every strategy has forgotten the hits (the sliding counter still weighs the previous one after one).
        fixture.Clock.Advance(TimeSpan.FromHours(2));

        var admitted = await grains.HitAsync(window);
        Assert.True(admitted.Allowed);
        Assert.Equal(1, admitted.Stats.Remaining);
    }

    [Fact]
    public async Task Decisions_carry_the_window_after_the_hit()
    {
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/minute");
        var grains = _cluster.Client;
        var now = fixture.Clock.GetUtcNow();

        var first = await grains.HitAsync(window, 3);
        var test = await grains.TestAsync(window, 8);

        Assert.Equal(new WindowDecision(true, new WindowStats(7, now.AddMinutes(1))), first);
        Assert.Equal(new WindowDecision(false, new WindowStats(7, now.AddMinutes(1))), test);
        Assert.Equal(new WindowStats(7, now.AddMinutes(1)), await grains.StatsAsync(window));
    }

    [Fact]
    public async Task Clear_forgets_the_window()
    {
        var window = TestWindows.Unique(RateLimitStrategy.MovingWindow, "1/hour");
        await _cluster.Client.HitAsync(window);
        Assert.False((await _cluster.Client.HitAsync(window)).Allowed);

        await _cluster.FactoryOf(1).ClearAsync(window);

        Assert.True((await _cluster.Client.HitAsync(window)).Allowed);
    }

    [Fact]
    public async Task Windows_of_one_client_that_differ_in_limit_scope_or_strategy_count_apart()
    {
        var client = Guid.NewGuid().ToString("N");
        RateLimitWindowKey[] windows =
        [
            TestWindows.Of(client, "1/minute"),
            TestWindows.Of(client, "2/minute"),
            TestWindows.Of(client, "1/minute", scope: "other"),
            TestWindows.Of(client, "1/minute", RateLimitStrategy.MovingWindow),
            new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("1/minute"), "endpoint", client, "prefix"),
        ];

        var first = await Task.WhenAll(windows.Select(w => _cluster.Client.HitAsync(w).AsTask()));

        Assert.All(first, d => Assert.True(d.Allowed));
        Assert.Equal([0L, 1L, 0L, 0L, 0L], first.Select(d => d.Stats.Remaining));
    }

    [Fact]
    public async Task Hostile_keys_give_distinct_counters()
    {
        var scope = Guid.NewGuid().ToString("N");
        string[] hostile =
        [
            new string('k', 10_240), new string('k', 10_239) + "j", "\0\u0001\u001F\u007F", "line\r\nbreak", "tab\there",
            "über", "日本語", "😀", "e\u0301", "\u200B", "a/b", "a%2Fb", "a#b", "a|b", "a:b", "a;b", "a b", "", " ", "/", "%",
            "lone" + (char)0xD800, "lone" + (char)0xDC00,
        ];
        var limit = RateLimitItem.Parse("1/minute");
        var windows = hostile.Select(k => new RateLimitWindowKey(RateLimitStrategy.FixedWindow, limit, scope, k)).ToList();

        var first = await Task.WhenAll(windows.Select(w => _cluster.Client.HitAsync(w).AsTask()));
        var second = await Task.WhenAll(windows.Select(w => _cluster.Client.HitAsync(w).AsTask()));

        Assert.All(first, d => Assert.True(d.Allowed));
        Assert.All(second, d => Assert.False(d.Allowed));
    }

    [Fact]
    public async Task A_limit_the_parser_could_not_have_made_fails_the_call_with_its_reason()
    {
        var key = TestWindows.Unique(RateLimitStrategy.FixedWindow, "1/minute");
        var window = new WindowRef(key) with { GranularitySeconds = 7 };
        var owner = _cluster.Client.GetWindowOwner(key);

        var exception = await Assert.ThrowsAnyAsync<Exception>(() => owner.Decide([new WindowCall(window, WindowOperation.Hit, 1, false)]).AsTask());

        Assert.Contains("A window of 1 per 1 × 7 s is not a limit.", exception.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_negative_cost_fails_the_call_and_leaves_the_window_usable()
    {
        var window = TestWindows.Unique(RateLimitStrategy.FixedWindow, "1/minute");

        var exception = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _cluster.Client.HitAsync(window, -5).AsTask());

        Assert.StartsWith("The cost of a hit must be zero or more.", exception.Message, StringComparison.Ordinal);
        Assert.True((await _cluster.Client.HitAsync(window)).Allowed);
        Assert.False((await _cluster.Client.HitAsync(window)).Allowed);
    }

    [Fact]
    public async Task A_batch_with_a_negative_cost_counts_none_of_its_calls()
    {
        var client = Guid.NewGuid().ToString("N");
        var first = TestWindows.Of(client, "5/minute", scope: "first");
        var second = TestWindows.Of(client, "5/minute", scope: "second");

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _cluster.Client.GetWindowOwner(first).Decide(
        [
            new WindowCall(new WindowRef(first), WindowOperation.Hit, 2, StopIfRefused: false),
            new WindowCall(new WindowRef(second), WindowOperation.Hit, -1, StopIfRefused: false),
        ]).AsTask());

        Assert.Equal(5, (await _cluster.Client.StatsAsync(first)).Remaining);
    }

    [Fact]
    public async Task Meta_limit_blocks_a_client_once_its_breaches_reach_the_limit()
    {
        var meta = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("2/hour"), "meta", Guid.NewGuid().ToString("N"));
        Assert.True((await _cluster.FactoryOf(0).TestAsync(meta)).Allowed);

        await _cluster.FactoryOf(0).GetWindowOwner(meta).RecordBreaches([new WindowRef(meta)]);
        await _cluster.FactoryOf(1).GetWindowOwner(meta).RecordBreaches([new WindowRef(meta)]);
        await TestClusters.WaitUntilAsync(
            async () => (await _cluster.Client.StatsAsync(meta)).Remaining == 0, TimeSpan.FromSeconds(10), "two breaches to be counted");

        var blocked = await _cluster.FactoryOf(1).TestAsync(meta);
        Assert.False(blocked.Allowed);
        Assert.Equal(new WindowStats(0, fixture.Clock.GetUtcNow().AddHours(1)), blocked.Stats);

        fixture.Clock.Advance(TimeSpan.FromHours(1));
        Assert.True((await _cluster.FactoryOf(0).TestAsync(meta)).Allowed);
    }

    [Fact]
    public async Task Breaches_recorded_in_one_call_each_count_once_in_every_meta_window()
    {
        var client = Guid.NewGuid().ToString("N");
        var hourly = TestWindows.Of(client, "5/hour", scope: "meta");
        var daily = TestWindows.Of(client, "10/day", scope: "meta");
        var owner = _cluster.FactoryOf(1).GetWindowOwner(hourly);

        for (var i = 0; i < 3; i++)
        {
            await owner.RecordBreaches([new WindowRef(hourly), new WindowRef(daily)]);
        }

        await TestClusters.WaitUntilAsync(
            async () => (await _cluster.Client.StatsAsync(daily)).Remaining == 7, TimeSpan.FromSeconds(10), "three breaches to be counted");
        Assert.Equal(2, (await _cluster.Client.StatsAsync(hourly)).Remaining);
        Assert.Equal(7, (await _cluster.FactoryOf(0).StatsAsync(daily)).Remaining);
    }
}
