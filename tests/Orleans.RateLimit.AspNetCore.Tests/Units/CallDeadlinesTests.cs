using Microsoft.Extensions.Time.Testing;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>One timer for every call's deadline: a call's token is cancelled between one and one and a quarter timeouts after it starts.</summary>
public sealed class CallDeadlinesTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(40);

    [Fact]
    public void A_call_keeps_its_token_for_the_whole_timeout_and_loses_it_within_a_quarter_more()
    {
        var clock = new FakeTimeProvider(Start);
        using var deadlines = new CallDeadlines(Timeout, clock);

        var token = deadlines.Token();
        Run(clock, 40);
        Assert.False(token.IsCancellationRequested);
        Run(clock, 10);

        Assert.True(token.IsCancellationRequested);
    }

    [Fact]
    public void A_call_started_at_the_end_of_a_slot_still_gets_the_whole_timeout()
    {
        var clock = new FakeTimeProvider(Start);
        using var deadlines = new CallDeadlines(Timeout, clock);

        Run(clock, 9);
        var token = deadlines.Token();
        Run(clock, 40);

        Assert.False(token.IsCancellationRequested);
        Run(clock, 10);
        Assert.True(token.IsCancellationRequested);
    }

    [Fact]
    public void Calls_in_one_quarter_of_the_timeout_share_a_token_and_later_calls_get_their_own()
    {
        var clock = new FakeTimeProvider(Start);
        using var deadlines = new CallDeadlines(Timeout, clock);

        var first = deadlines.Token();
        Run(clock, 5);
        var sameSlot = deadlines.Token();
        Run(clock, 5);
        var nextSlot = deadlines.Token();
        Run(clock, 40);

        Assert.Equal(first, sameSlot);
        Assert.NotEqual(first, nextSlot);
        Assert.True(first.IsCancellationRequested);
        Assert.False(nextSlot.IsCancellationRequested);
    }

    [Fact]
    public void Time_the_process_stood_still_is_not_counted_against_a_call()
    {
        var clock = new FakeTimeProvider(Start);
        using var deadlines = new CallDeadlines(Timeout, clock);

        var token = deadlines.Token();
        Run(clock, 20);

        // The timer ticks 300 ms late, as after a long garbage collection: the call has had 20 ms of running time.
        clock.Advance(TimeSpan.FromMilliseconds(300)); // one jump: the timer could not tick meanwhile
        Assert.False(token.IsCancellationRequested);

        Run(clock, 10);
        Run(clock, 10);
        Run(clock, 10);
        Assert.True(token.IsCancellationRequested);
    }

    [Fact]
    public void A_clock_that_stands_still_keeps_one_token()
    {
        using var deadlines = new CallDeadlines(Timeout, new FakeTimeProvider(Start));

        var tokens = Enumerable.Range(0, 1_000).Select(_ => deadlines.Token()).Distinct().ToList();

        Assert.Single(tokens);
        Assert.False(tokens[0].IsCancellationRequested);
    }

    [Fact]
    public void An_expired_call_is_reported_as_a_timeout_naming_it()
    {
        using var deadlines = new CallDeadlines(Timeout, new FakeTimeProvider(Start));

        Assert.Equal("The call did not complete within 40 ms.", deadlines.Expired().Message);
    }

    /// <summary>Time passing while the process runs: the timer ticks as it goes, never more than 5 ms late.</summary>
    private static void Run(FakeTimeProvider clock, int milliseconds)
    {
        for (var step = 0; step < milliseconds; step += 5)
        {
            clock.Advance(TimeSpan.FromMilliseconds(Math.Min(5, milliseconds - step)));
        }
    }
}
