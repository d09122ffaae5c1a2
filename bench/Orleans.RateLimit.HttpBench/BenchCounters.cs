using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;

namespace Orleans.RateLimit.HttpBench;

/// <summary>
/// Counts, in this process, the recordings of two instruments of the limiter's meter <c>Orleans.RateLimit.AspNetCore</c>:
/// <c>orleans_ratelimit.owner_call.duration</c> (one per call to a window's owner; those that did not end with
/// <c>outcome=ok</c> are also counted apart) and <c>orleans_ratelimit.requests</c> (one per request the limiter decided).
/// Served as JSON at <c>GET /bench/counters</c> so that bench/http/run.sh can read them before and after a measured run.
/// Counts of measurements, not their values; zero while the limiter does not record the instrument. Listening enables the two
/// instruments, so the limiter does the recording work it would do under a metrics exporter in every mode that uses it.
/// </summary>
internal sealed class BenchCounters : IDisposable
{
    public const string Path = "/bench/counters";

    private const string MeterName = "Orleans.RateLimit.AspNetCore";
    private const string OwnerCallInstrument = "orleans_ratelimit.owner_call.duration";
    private const string RequestsInstrument = "orleans_ratelimit.requests";

    private readonly MeterListener _listener = new();
    private long _ownerCalls;
    private long _ownerCallFailures;
    private long _requests;

    public BenchCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeterName && instrument.Name is OwnerCallInstrument or RequestsInstrument)
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<double>(static (instrument, _, tags, state) => ((BenchCounters)state!).Record(instrument, tags));
        _listener.SetMeasurementEventCallback<long>(static (instrument, _, tags, state) => ((BenchCounters)state!).Record(instrument, tags));
        _listener.Start();
    }

    /// <summary>Maps <see cref="Path"/>, answering loopback callers only, exempt from every limit of the limiter.</summary>
    public void Map(WebApplication app) => app.MapGet(Path, (HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address)
            ? Results.Text(ToJson(), "application/json")
            : Results.StatusCode(StatusCodes.Status403Forbidden))
        .ExemptFromRateLimits();

    public string ToJson() => string.Create(
        CultureInfo.InvariantCulture,
        $$"""{"ownerCalls":{{Interlocked.Read(ref _ownerCalls)}},"ownerCallFailures":{{Interlocked.Read(ref _ownerCallFailures)}},"requests":{{Interlocked.Read(ref _requests)}}}""");

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (instrument.Name == RequestsInstrument)
        {
            Interlocked.Increment(ref _requests);
            return;
        }

        Interlocked.Increment(ref _ownerCalls);
        foreach (var tag in tags)
        {
            if (tag.Key == "outcome" && tag.Value is string outcome && outcome != "ok")
            {
                Interlocked.Increment(ref _ownerCallFailures);
            }
        }
    }
}
