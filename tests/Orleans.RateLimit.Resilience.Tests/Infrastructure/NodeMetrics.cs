using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// Totals of the limiter's counters (meter <c>Orleans.RateLimit.AspNetCore</c>) and, with an embedded silo, the partition grains'
/// (<c>Orleans.RateLimit.Grains</c>) of one web node, told apart from other nodes in this process by the node's
/// <see cref="IMeterFactory"/>; keyed by instrument name and tag, e.g. <c>store.circuit_transitions[state=open]</c>.
/// </summary>
internal sealed class NodeMetrics : IDisposable
{
    private const string Prefix = "orleans_ratelimit.";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);

    public NodeMetrics(IMeterFactory node)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name is "Orleans.RateLimit.AspNetCore" or "Orleans.RateLimit.Grains" && ReferenceEquals(instrument.Meter.Scope, node))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var name = instrument.Name.StartsWith(Prefix, StringComparison.Ordinal) ? instrument.Name[Prefix.Length..] : instrument.Name;
            foreach (var tag in tags)
            {
                name += $"[{tag.Key}={tag.Value}]";
            }

            _totals.AddOrUpdate(name, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    /// <summary>Decisions made in this process's memory because the cluster could not decide.</summary>
    public long MemoryDecisions => this["store.degraded_decisions[failure_mode=memory]"];

    public long CircuitOpened => this["store.circuit_transitions[state=open]"];

    public long CircuitClosed => this["store.circuit_transitions[state=closed]"];

    public long CallTimeouts => this["store.call_failures[reason=timeout]"];

    public long CallErrors => this["store.call_failures[reason=error]"];

    public long this[string name] => _totals.GetValueOrDefault(name);

    /// <summary>Counts from zero again, e.g. once a warm-up is over.</summary>
    public void StartOver() => _totals.Clear();

    public string Describe() =>
        $"circuit opened {CircuitOpened}x, closed {CircuitClosed}x; grain calls failed: {CallTimeouts} timed out, {CallErrors} errors; {MemoryDecisions} decisions in memory";

    /// <summary>The embedded silo's window persistence, for nodes that have one.</summary>
    public string DescribeWindowStorage() =>
        $"window writes {this["window.writes"]}, failed writes {this["window.write_failures"]}, failed reads {this["window.read_failures"]}, conflicts merged {this["window.conflicts_merged"]}";

    public void Dispose() => _listener.Dispose();
}
