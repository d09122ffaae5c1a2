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

public sealed class ClusterWindowTests(TwoSiloCluster fixture) : IClassFixture<TwoSiloCluster>
{
    private readonly InProcessTestCluster _cluster = fixture.Cluster;

    private static string UniqueKey(RateLimitStrategy strategy, string limit, string key = "client") =>
        new RateLimitWindowKey(strategy, RateLimitItem.Parse(limit), Guid.NewGuid().ToString("N"), key).ToGrainKey();

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task Hundred_concurrent_hits_from_both_silos_admit_exactly_five(RateLimitStrategy strategy)
    {
        var key = UniqueKey(strategy, "5/minute");
        var factories = new[] { _cluster.FactoryOf(0), _cluster.FactoryOf(1) };
        using var start = new ManualResetEventSlim();

        var calls = Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await factories[i % 2].GetGrain<IRateLimitWindowGrain>(key).Hit(1);
        })).ToList();
        start.Set();
        var decisions = await Task.WhenAll(calls);

        Assert.Equal(5, decisions.Count(d => d.Allowed));
        Assert.Equal(95, decisions.Count(d => !d.Allowed));
        Assert.Equal(0, (await factories[1].GetGrain<IRateLimitWindowGrain>(key).Stats()).Remaining);
    }

    [Theory]
    [InlineData(RateLimitStrategy.FixedWindow)]
    [InlineData(RateLimitStrategy.MovingWindow)]
    [InlineData(RateLimitStrategy.SlidingWindowCounter)]
    public async Task Grains_read_time_from_the_clock_in_DI(RateLimitStrategy strategy)
    {
        var grain = _cluster.Client.GetGrain<IRateLimitWindowGrain>(UniqueKey(strategy, "2/hour"));

        Assert.True((await grain.Hit(2)).Allowed);
        var rejected = await grain.Hit(1);
        Assert.False(rejected.Allowed);
        Assert.Equal(0, rejected.Stats.Remaining);

        // Two whole periods later every strategy has forgotten the hits (the sliding counter still weighs the previous one after one).
        fixture.Clock.Advance(TimeSpan.FromHours(2));

        var admitted = await grain.Hit(1);
        Assert.True(admitted.Allowed);
        Assert.Equal(1, admitted.Stats.Remaining);
    }

    [Fact]
    public async Task Decisions_carry_the_window_after_the_hit()
    {
        var grain = _cluster.Client.GetGrain<IRateLimitWindowGrain>(UniqueKey(RateLimitStrategy.FixedWindow, "10/minute"));
        var now = fixture.Clock.GetUtcNow();

        var first = await grain.Hit(3);
        var test = await grain.Test(8);

        Assert.Equal(new WindowDecision(true, new WindowStats(7, now.AddMinutes(1))), first);
        Assert.Equal(new WindowDecision(false, new WindowStats(7, now.AddMinutes(1))), test);
        Assert.Equal(new WindowStats(7, now.AddMinutes(1)), await grain.Stats());
    }

    [Fact]
    public async Task Clear_forgets_the_window()
    {
        var grain = _cluster.Client.GetGrain<IRateLimitWindowGrain>(UniqueKey(RateLimitStrategy.MovingWindow, "1/hour"));
        await grain.Hit(1);

        await grain.Clear();

        Assert.True((await grain.Hit(1)).Allowed);
    }

    [Fact]
    public async Task Hostile_keys_give_valid_grain_keys_and_distinct_counters()
    {
        var scope = Guid.NewGuid().ToString("N");
        string[] hostile =
        [
            new string('k', 10_240), new string('k', 10_239) + "j", "\0\u0001\u001F\u007F", "line\r\nbreak", "tab\there",
            "über", "日本語", "😀", "e\u0301", "\u200B", "a/b", "a%2Fb", "a#b", "a|b", "a:b", "a;b", "a b", "", " ", "/", "%",
            "lone" + (char)0xD800, "lone" + (char)0xDC00,
        ];
        var limit = RateLimitItem.Parse("1/minute");
        var grains = hostile
            .Select(k => _cluster.Client.GetGrain<IRateLimitWindowGrain>(new RateLimitWindowKey(RateLimitStrategy.FixedWindow, limit, scope, k).ToGrainKey()))
            .ToList();

        var first = await Task.WhenAll(grains.Select(g => g.Hit(1).AsTask()));
        var second = await Task.WhenAll(grains.Select(g => g.Hit(1).AsTask()));

        Assert.All(first, d => Assert.True(d.Allowed));
        Assert.All(second, d => Assert.False(d.Allowed));
    }

    [Fact]
    public async Task A_key_not_made_by_the_key_builder_fails_the_call_with_its_reason()
    {
        var grain = _cluster.Client.GetGrain<IRateLimitWindowGrain>("not-a-window");

        var exception = await Assert.ThrowsAnyAsync<Exception>(() => grain.Hit(1).AsTask());

        Assert.Contains("The rate-limit grain key 'not-a-window' is not of the form", exception.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_negative_cost_fails_the_call_and_leaves_the_window_usable()
    {
        var grain = _cluster.Client.GetGrain<IRateLimitWindowGrain>(UniqueKey(RateLimitStrategy.FixedWindow, "1/minute"));

        var exception = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => grain.Hit(-5).AsTask());

        Assert.StartsWith("The cost of a hit must be zero or more.", exception.Message, StringComparison.Ordinal);
        Assert.True((await grain.Hit(1)).Allowed);
    }

    [Fact]
    public async Task Meta_limit_blocks_a_client_once_its_breaches_reach_the_limit()
    {
        var key = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("2/hour"), "meta", Guid.NewGuid().ToString("N")).ToGrainKey();
        var meta = _cluster.FactoryOf(0).GetGrain<IMetaLimitGrain>(key);
        Assert.True((await meta.Check(1)).Allowed);

        await meta.RecordBreach();
        await meta.RecordBreach();
        await TestClusters.WaitUntilAsync(async () => (await meta.Stats()).Remaining == 0, TimeSpan.FromSeconds(10), "two breaches to be counted");

        var blocked = await _cluster.FactoryOf(1).GetGrain<IMetaLimitGrain>(key).Check(1);
        Assert.False(blocked.Allowed);
        Assert.Equal(fixture.Clock.GetUtcNow().AddHours(1), blocked.Stats.ResetAt);

        fixture.Clock.Advance(TimeSpan.FromHours(1));
        Assert.True((await meta.Check(1)).Allowed);
    }
}
