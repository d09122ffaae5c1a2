using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// When the circuit opens (calls kept failing for 1 second, at least three of them, none succeeding in between) and its probe
/// schedule: Flask-Limiter's backoff of 1, 2, 4, 8, 16 and 32 seconds, then from 1 second again.
/// </summary>
public sealed class StorageCircuitTests : IDisposable
{
    private readonly List<ServiceProvider> _services = [];
    private readonly FakeTimeProvider _clock = new(TestApp.Start);
    private readonly TestLogSink _logs = new();
    private int _probes;
    private bool _clusterAnswers;

    [Fact]
    public async Task Probes_follow_the_original_backoff_and_wrap_after_32_seconds()
    {
        var circuit = CreateCircuit();
        circuit.Trip(new TimeoutException("no answer"));

        int[] expectedGaps = [1, 2, 4, 8, 16, 32, 1, 2];
        foreach (var gap in expectedGaps)
        {
            var before = _probes;
            _clock.Advance(TimeSpan.FromSeconds(gap) - TimeSpan.FromMilliseconds(1));
            circuit.ProbeIfDue();
            Assert.Equal(before, _probes);

            _clock.Advance(TimeSpan.FromMilliseconds(1));
            circuit.ProbeIfDue();
            circuit.ProbeIfDue();
            await WaitForProbeAsync(before + 1);
        }

        Assert.True(circuit.IsOpen);
    }

    [Fact]
    public async Task A_probe_that_gets_an_answer_closes_the_circuit_and_each_transition_is_logged_once()
    {
        var circuit = CreateCircuit();
        circuit.Trip(new TimeoutException("first"));
        circuit.Trip(new TimeoutException("second"));
        _clusterAnswers = true;

        _clock.Advance(TimeSpan.FromSeconds(1));
        circuit.ProbeIfDue();
        await WaitForProbeAsync(1);
        Assert.False(circuit.IsOpen);

        Assert.Equal(["Rate limit storage unreachable - falling back to in-memory storage"], _logs.Messages(LogLevel.Warning));
        Assert.Equal(["Rate limit storage recovered"], _logs.Messages(LogLevel.Information));

        // A new outage starts the schedule again from 1 second.
        _clusterAnswers = false;
        circuit.Trip(new TimeoutException("again"));
        _clock.Advance(TimeSpan.FromSeconds(1));
        circuit.ProbeIfDue();
        await WaitForProbeAsync(2);
        Assert.Equal(2, _logs.Messages(LogLevel.Warning).Count);
    }

    [Fact]
    public void A_burst_of_failures_shorter_than_the_duration_does_not_open_the_circuit()
    {
        var circuit = CreateCircuit();

        // A pause under load: a hundred calls fail within 999 ms, none succeeds meanwhile.
        for (var i = 0; i < 100; i++)
        {
            circuit.Failed(new TimeoutException(i.ToString(CultureInfo.InvariantCulture)));
            _clock.Advance(TimeSpan.FromMilliseconds(999) / 100);
        }

        circuit.Failed(new TimeoutException("last of the burst"));

        Assert.False(circuit.IsOpen);
        Assert.Empty(_logs.Messages(LogLevel.Warning));
    }

    [Fact]
    public void Failures_sustained_past_the_duration_open_the_circuit_once()
    {
        var circuit = CreateCircuit();
        circuit.Failed(new TimeoutException("first"));
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        circuit.Failed(new TimeoutException("second"));
        _clock.Advance(TimeSpan.FromMilliseconds(499));
        circuit.Failed(new TimeoutException("third, 999 ms into the run"));
        Assert.False(circuit.IsOpen);

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        circuit.Failed(new TimeoutException("fourth, 1 s into the run"));
        circuit.Failed(new TimeoutException("fifth, from a call under way"));

        Assert.True(circuit.IsOpen);
        Assert.Equal(["Rate limit storage unreachable - falling back to in-memory storage"], _logs.Messages(LogLevel.Warning));
        Assert.Equal("fourth, 1 s into the run", _logs.Records.Single(r => r.Level == LogLevel.Warning).Exception?.Message);
    }

    [Fact]
    public void A_success_in_between_starts_the_run_again()
    {
        var circuit = CreateCircuit();
        for (var i = 0; i < 10; i++)
        {
            circuit.Failed(new TimeoutException("before"));
            _clock.Advance(TimeSpan.FromMilliseconds(90));
        }

        circuit.Succeeded();
        for (var i = 0; i < 10; i++)
        {
            circuit.Failed(new TimeoutException("after"));
            _clock.Advance(TimeSpan.FromMilliseconds(90));
        }

        // 1.8 s of failures, but the run that counts began 900 ms ago, at the first failure after the success.
        Assert.False(circuit.IsOpen);

        _clock.Advance(TimeSpan.FromMilliseconds(100));
        circuit.Failed(new TimeoutException("1 s after the success"));
        Assert.True(circuit.IsOpen);
    }

    [Fact]
    public void A_dead_cluster_with_little_traffic_opens_the_circuit_at_its_next_failure()
    {
        var circuit = CreateCircuit();
        circuit.Failed(new TimeoutException("first request"));
        _clock.Advance(TimeSpan.FromMinutes(1));
        circuit.Failed(new TimeoutException("a minute later"));

        // Long enough, but a run needs CircuitBreakerThreshold (3) failures too: two calls are not yet a pattern.
        Assert.False(circuit.IsOpen);

        _clock.Advance(TimeSpan.FromMinutes(1));
        circuit.Failed(new TimeoutException("two minutes later"));
        Assert.True(circuit.IsOpen);
    }

    [Fact]
    public void Three_failures_at_once_wait_for_the_next_failure_after_the_duration()
    {
        var circuit = CreateCircuit();
        circuit.Failed(new TimeoutException("1"));
        circuit.Failed(new TimeoutException("2"));
        circuit.Failed(new TimeoutException("3"));
        _clock.Advance(TimeSpan.FromSeconds(30));

        // Nothing happens without a call: the circuit opens on a failure, never on a timer.
        Assert.False(circuit.IsOpen);

        circuit.Failed(new TimeoutException("4"));
        Assert.True(circuit.IsOpen);
    }

    [Fact]
    public void With_no_duration_three_failed_calls_in_a_row_open_the_circuit_and_a_success_breaks_the_run()
    {
        var circuit = CreateCircuit(failingFor: TimeSpan.Zero);
        circuit.Failed(new TimeoutException("1"));
        circuit.Failed(new TimeoutException("2"));
        circuit.Succeeded();
        circuit.Failed(new TimeoutException("3"));
        circuit.Failed(new TimeoutException("4"));
        Assert.False(circuit.IsOpen);

        circuit.Failed(new TimeoutException("5"));

        Assert.True(circuit.IsOpen);
        Assert.Equal(["Rate limit storage unreachable - falling back to in-memory storage"], _logs.Messages(LogLevel.Warning));
    }

    [Fact]
    public async Task After_a_recovery_a_run_starts_from_nothing()
    {
        var circuit = CreateCircuit();
        circuit.Failed(new TimeoutException("1"));
        _clock.Advance(TimeSpan.FromSeconds(1));
        circuit.Failed(new TimeoutException("2"));
        circuit.Failed(new TimeoutException("3"));
        Assert.True(circuit.IsOpen);

        _clusterAnswers = true;
        _clock.Advance(TimeSpan.FromSeconds(1));
        circuit.ProbeIfDue();
        await WaitForProbeAsync(1);
        Assert.False(circuit.IsOpen);

        // The failures of the last outage are not carried over: a burst right after the recovery is a burst.
        circuit.Failed(new TimeoutException("4"));
        circuit.Failed(new TimeoutException("5"));
        circuit.Failed(new TimeoutException("6"));
        Assert.False(circuit.IsOpen);
        Assert.Single(_logs.Messages(LogLevel.Warning));
    }

    [Fact]
    public void A_closed_circuit_never_probes()
    {
        var circuit = CreateCircuit();
        _clock.Advance(TimeSpan.FromHours(1));

        circuit.ProbeIfDue();

        Assert.Equal(0, _probes);
        Assert.False(circuit.IsOpen);
    }

    private StorageCircuit CreateCircuit(TimeSpan? failingFor = null)
    {
        var services = new ServiceCollection().AddMetrics().AddLogging(b => b.AddProvider(_logs)).BuildServiceProvider();
        _services.Add(services);
        return new StorageCircuit(
            () =>
            {
                Interlocked.Increment(ref _probes);
                return _clusterAnswers ? Task.CompletedTask : Task.FromException(new TimeoutException("still down"));
            },
            failuresToOpen: 3,
            failingFor ?? TimeSpan.FromSeconds(1),
            _clock,
            fallbackEnabled: true,
            new RateLimitMetrics(services.GetRequiredService<IMeterFactory>()),
            services.GetRequiredService<ILogger<StorageCircuit>>());
    }

    public void Dispose()
    {
        foreach (var services in _services)
        {
            services.Dispose();
        }
    }

    private async Task WaitForProbeAsync(int count)
    {
        // The probe runs in the background; with a completed probe task it finishes within a few scheduler turns.
        for (var i = 0; i < 1000 && Volatile.Read(ref _probes) < count; i++)
        {
            await Task.Delay(1);
        }

        Assert.Equal(count, Volatile.Read(ref _probes));
    }
}
