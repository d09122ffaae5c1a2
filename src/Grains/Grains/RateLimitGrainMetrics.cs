using System.Diagnostics.Metrics;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// The meter <c>Orleans.RateLimit.Grains</c>: how window state moves between grains and storage.
/// </summary>
internal sealed class RateLimitGrainMetrics
{
    public const string MeterName = "Orleans.RateLimit.Grains";

    private readonly Counter<long> _writes;
    private readonly Counter<long> _writeFailures;
    private readonly Counter<long> _readFailures;
    private readonly Counter<long> _conflictsMerged;
    private readonly Counter<long> _expiryFailures;

    public RateLimitGrainMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _writes = meter.CreateCounter<long>("orleans_ratelimit.window.writes", "{write}", "Window states written to (or deleted from) storage.");
        _writeFailures = meter.CreateCounter<long>("orleans_ratelimit.window.write_failures", "{write}", "Window writes that failed and wait for the next flush.");
        _readFailures = meter.CreateCounter<long>("orleans_ratelimit.window.read_failures", "{read}", "Activations that could not read storage in time and started empty.");
        _conflictsMerged = meter.CreateCounter<long>("orleans_ratelimit.window.conflicts_merged", "{conflict}", "Writes that met another activation's state and merged with it.");
        _expiryFailures = meter.CreateCounter<long>("orleans_ratelimit.window.expiry_failures", "{write}", "Window writes that landed but whose storage entry could not be given its expiry; the window's next write sets it.");
    }

    public void Written() => _writes.Add(1);

    public void WriteFailed() => _writeFailures.Add(1);

    public void ReadFailed() => _readFailures.Add(1);

    public void ConflictMerged() => _conflictsMerged.Add(1);

    public void ExpiryFailed() => _expiryFailures.Add(1);
}
