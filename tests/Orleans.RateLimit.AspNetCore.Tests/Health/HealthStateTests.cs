using Microsoft.Extensions.Time.Testing;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// The state the health check reads: decisions made without the cluster count for the current second and the 10 before it,
/// every concurrent update is counted, and updates allocate nothing.
/// </summary>
public sealed class HealthStateTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, 250, TimeSpan.Zero);

    [Fact]
    public void A_decision_counts_until_eleven_seconds_after_the_second_it_fell_in()
    {
        var clock = new FakeTimeProvider(Start);
        var state = new RateLimitHealthState(clock);
        clock.Advance(TimeSpan.FromMilliseconds(700));
        state.DecidedWithout(RateLimitFailureMode.FallbackToMemory);

        // Its second started 0.7 s before it, so it counts for 10.3 s more and no longer.
        clock.Advance(TimeSpan.FromMilliseconds(10_299));
        Assert.Equal(1, state.Read().DecidedInMemory);
        Assert.True(state.Read().FallbackRecently);
        clock.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(default, state.Read());
    }

    [Fact]
    public void Decisions_count_by_failure_mode_and_the_ring_forgets_old_seconds()
    {
        var clock = new FakeTimeProvider(Start);
        var state = new RateLimitHealthState(clock);
        for (var second = 0; second < 40; second++)
        {
            state.DecidedWithout(RateLimitFailureMode.FailOpen);
            state.DecidedWithout(RateLimitFailureMode.FailOpen);
            state.DecidedWithout(RateLimitFailureMode.FailClosed);
            state.CallFailed();
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        // Seconds 30 to 40 of a 16-second ring that went round twice; nothing was recorded in second 40.
        var now = state.Read();
        Assert.Equal(new RateLimitHealthSnapshot(null, FailedCalls: 10, DecidedInMemory: 0, DecidedFailOpen: 20, DecidedFailClosed: 10, false), now);
        Assert.True(now.FailedClosedRecently);
    }

    [Fact]
    public void A_limit_that_failed_closed_counts_for_the_open_circuit_only_from_when_it_opened()
    {
        var clock = new FakeTimeProvider(Start);
        var state = new RateLimitHealthState(clock);
        state.DecidedWithout(RateLimitFailureMode.FailClosed);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        state.CircuitOpened();
        Assert.Equal(Start.AddMilliseconds(1), state.Read().CircuitOpenSince);
        Assert.False(state.Read().FailedClosedWhileOpen);

        state.DecidedWithout(RateLimitFailureMode.FailClosed);
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.True(state.Read().FailedClosedWhileOpen);
        Assert.False(state.Read().FailedClosedRecently);
        Assert.Equal(Start.AddMilliseconds(1), state.Read().CircuitOpenSince);

        state.CircuitClosed();
        Assert.Equal(default, state.Read());
    }

    [Fact]
    public async Task Concurrent_updates_are_all_counted()
    {
        const int Threads = 4;
        const int PerThread = 200_000;
        var clock = new FakeTimeProvider(Start);
        var state = new RateLimitHealthState(clock);
        using var go = new Barrier(Threads);
        var writers = Enumerable.Range(0, Threads).Select(_ => Task.Factory.StartNew(
            () =>
            {
                go.SignalAndWait();
                for (var i = 0; i < PerThread; i++)
                {
                    state.DecidedWithout(RateLimitFailureMode.FallbackToMemory);
                }
            },
            TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(writers);

        Assert.Equal(Threads * PerThread, state.Read().DecidedInMemory);
    }

    [Fact]
    public void Updates_allocate_nothing()
    {
        var clock = new FakeTimeProvider(Start);
        var state = new RateLimitHealthState(clock);
        Update(state, clock, 100);

        var before = GC.GetAllocatedBytesForCurrentThread();
        Update(state, clock, 10_000);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void Update(RateLimitHealthState state, FakeTimeProvider clock, int times)
    {
        for (var i = 0; i < times; i++)
        {
            state.CallFailed();
            state.DecidedWithout(RateLimitFailureMode.FallbackToMemory);
            state.DecidedWithout(RateLimitFailureMode.FailOpen);
            state.DecidedWithout(RateLimitFailureMode.FailClosed);
            state.CircuitOpened();
            state.CircuitClosed();
            clock.Advance(TimeSpan.FromMilliseconds(3));
        }
    }
}
