using System.Diagnostics.Metrics;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// The meter <c>Orleans.RateLimit.Grains</c>: how window state moves between grains and storage.
/// </summary>
internal sealed class RateLimitGrainMetrics
{
    public const string MeterName = "Orleans.RateLimit.Grains";

    /// <summary>Windows whose write failed; named by the storage's log when writes start failing.</summary>
    public const string WriteFailuresName = "orleans_ratelimit.window.write_failures";

    /// <summary>Partition loads that failed; named by the storage's log when loads start failing.</summary>
    public const string ReadFailuresName = "orleans_ratelimit.window.read_failures";

    private readonly Counter<long> _writes;
    private readonly Counter<long> _writeFailures;
    private readonly Counter<long> _readFailures;
    private readonly Counter<long> _conflictsMerged;
    private readonly Counter<long> _unreadable;

    public RateLimitGrainMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _writes = meter.CreateCounter<long>("orleans_ratelimit.window.writes", "{write}", "Window states written to (or deleted from) storage.");
        _writeFailures = meter.CreateCounter<long>(WriteFailuresName, "{write}", "Window writes that failed and wait for the next flush.");
        _readFailures = meter.CreateCounter<long>(ReadFailuresName, "{read}", "Partition loads from storage that failed or were given up on (after the storage timeout).");
        _conflictsMerged = meter.CreateCounter<long>("orleans_ratelimit.window.conflicts_merged", "{conflict}", "Writes that met another activation's state and merged with it.");
        _unreadable = meter.CreateCounter<long>("orleans_ratelimit.window.unreadable", "{window}", "Stored windows that could not be read and were skipped; their next write replaces them.");
    }

    public void Written() => _writes.Add(1);

    public void WriteFailed(int windows) => _writeFailures.Add(windows);

    public void ReadFailed() => _readFailures.Add(1);

    public void ConflictMerged() => _conflictsMerged.Add(1);

    public void UnreadableSkipped(int windows) => _unreadable.Add(windows);
}
