using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// The resilient store over a cluster that fails its calls, on a fake clock: with the default options each check is decided
/// in memory, never the original's storage error, and the circuit opens by the options' rule.
/// </summary>
public sealed class ResilientStoreTests : IDisposable
{
    private static readonly RateLimitItem Limit = RateLimitItem.Parse("2/minute");

    private readonly FakeTimeProvider _clock = new(TestApp.Start);
    private readonly TestLogSink _logs = new();
    private readonly ServiceProvider _services;
    private readonly ScriptedCluster _cluster = new();
    private readonly MemoryRateLimitStore _memory;

    public ResilientStoreTests()
    {
        _services = new ServiceCollection().AddMetrics().AddLogging(b => b.AddProvider(_logs)).BuildServiceProvider();
        _memory = new MemoryRateLimitStore(_clock);
    }

    [Fact]
    public async Task With_default_options_failed_calls_are_decided_in_memory_by_the_limit()
    {
        var store = CreateStore(new RateLimitOptions());

        var outcomes = new List<StoreOutcome>();
        for (var i = 0; i < 3; i++)
        {
            outcomes.Add(await store.DecideAsync(Check("alice")));
        }

        Assert.All(outcomes, o => Assert.Equal((StoreOutcomeKind.Decided, DecisionPath.Fallback), (o.Kind, o.Path)));
        Assert.Equal([true, true, false], outcomes.Select(o => o.Decision.Allowed));
        Assert.Equal(3, _cluster.Calls);
    }

    [Fact]
    public async Task Without_the_fallback_failed_calls_are_the_original_storage_error()
    {
        var store = CreateStore(new RateLimitOptions { InMemoryFallbackEnabled = false });

        var outcome = await store.DecideAsync(Check("alice"));

        Assert.Equal(StoreOutcomeKind.Failed, outcome.Kind);
        var error = Assert.IsType<RateLimitStorageUnavailableException>(outcome.Failure);
        Assert.Equal("Rate limit storage did not answer within 50 ms (RateLimit:GrainCallTimeout).", error.Message);
    }

    [Fact]
    public async Task The_circuit_opens_by_the_configured_duration_and_threshold()
    {
        // Built as the service registration builds it, from the options.
        var store = CreateStore(new RateLimitOptions { CircuitBreakerDuration = TimeSpan.FromSeconds(5), CircuitBreakerThreshold = 4 });

        for (var i = 0; i < 10; i++)
        {
            await store.DecideAsync(Check("k" + i));
        }

        _clock.Advance(TimeSpan.FromSeconds(4.999));
        await store.DecideAsync(Check("late"));
        Assert.Equal(11, _cluster.Calls);
        Assert.Empty(_logs.Messages(LogLevel.Warning));

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await store.DecideAsync(Check("5 s into the run"));
        var decided = await store.DecideAsync(Check("after the opening"));

        Assert.Equal(12, _cluster.Calls);
        Assert.Equal((StoreOutcomeKind.Decided, DecisionPath.Fallback), (decided.Kind, decided.Path));
        Assert.Equal(["Rate limit storage unreachable - falling back to in-memory storage"], _logs.Messages(LogLevel.Warning));
    }

    [Fact]
    public async Task A_call_answered_with_a_refusal_breaks_a_run_of_failures()
    {
        var store = CreateStore(new RateLimitOptions());
        await store.DecideAsync(Check("a"));
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        _cluster.Refuses = true;
        Assert.Equal((StoreOutcomeKind.Decided, DecisionPath.OwnerCall, false), Summary(await store.DecideAsync(Check("b"))));
        _cluster.Refuses = false;

        _clock.Advance(TimeSpan.FromMilliseconds(500));
        await store.DecideAsync(Check("c"));
        _clock.Advance(TimeSpan.FromMilliseconds(200));
        await store.DecideAsync(Check("c"));
        _clock.Advance(TimeSpan.FromMilliseconds(400));
        await store.DecideAsync(Check("c"));

        // Four failures over 1.6 s, but the cluster answered 1.1 s ago, and the run since is 600 ms old.
        Assert.Empty(_logs.Messages(LogLevel.Warning));

        _clock.Advance(TimeSpan.FromMilliseconds(400));
        await store.DecideAsync(Check("d"));
        Assert.Single(_logs.Messages(LogLevel.Warning));
    }

    public void Dispose()
    {
        _memory.Dispose();
        _services.Dispose();
    }

    private ResilientRateLimitStore CreateStore(RateLimitOptions options)
    {
        var metrics = new RateLimitMetrics(_services.GetRequiredService<IMeterFactory>());
        var circuit = new StorageCircuit(
            () => Task.FromException(new TimeoutException("still down")),
            options.CircuitBreakerThreshold,
            options.CircuitBreakerDuration,
            _clock,
            options.InMemoryFallbackEnabled,
            metrics,
            _services.GetRequiredService<ILogger<StorageCircuit>>());
        return new ResilientRateLimitStore(_cluster, ping: null, _memory, circuit, failover: null, options, _clock, metrics);
    }

    private static (StoreOutcomeKind, DecisionPath, bool) Summary(StoreOutcome outcome) => (outcome.Kind, outcome.Path, outcome.Decision.Allowed);

    private static WindowCheck Check(string key) =>
        new(
            new LimitDefinition(LimitKind.Route, RateLimitValue.Parse("2/minute")),
            new RateLimitWindowKey(RateLimitStrategy.FixedWindow, Limit, "/t", key),
            WindowOperation.Hit,
            Cost: 1,
            StopIfRefused: true);

    /// <summary>
    /// A cluster whose every call passes its deadline, as the grain store reports it, or, while <see cref="Refuses"/>, whose
    /// owners answer that each window is full.
    /// </summary>
    private sealed class ScriptedCluster : IRateLimitStore
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public bool Refuses { get; set; }

        public ValueTask<int> DecideAsync(ReadOnlyMemory<WindowCheck> checks, Memory<StoreOutcome> outcomes)
        {
            Interlocked.Increment(ref _calls);
            if (Refuses)
            {
                outcomes.Span[0] = StoreOutcome.Decided(new WindowDecision(false, new WindowStats(0, TestApp.Start.AddMinutes(1))), DecisionPath.OwnerCall);
                return ValueTask.FromResult(1);
            }

            outcomes.Span.Fill(StoreOutcome.FallBack(new TimeoutException("The call did not complete within 50 ms.")));
            return ValueTask.FromResult(checks.Length);
        }

        public void RecordBreach(RateLimitWindowKey metaWindow)
        {
        }
    }
}
