using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>The circuit's probe schedule: Flask-Limiter's backoff of 1, 2, 4, 8, 16 and 32 seconds, then from 1 second again.</summary>
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
    public void Three_failed_calls_in_a_row_open_the_circuit_and_a_success_breaks_the_run()
    {
        var circuit = CreateCircuit();
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
    public void A_closed_circuit_never_probes()
    {
        var circuit = CreateCircuit();
        _clock.Advance(TimeSpan.FromHours(1));

        circuit.ProbeIfDue();

        Assert.Equal(0, _probes);
        Assert.False(circuit.IsOpen);
    }

    private StorageCircuit CreateCircuit()
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
