using System.Diagnostics.Metrics;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>How many grain addresses the Orleans directory caches of this process hold, read from Orleans' own gauge.</summary>
internal sealed class DirectoryCacheProbe : IDisposable
{
    private const string InstrumentName = "orleans-directory-cache-size";

    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private long _sum;

    public DirectoryCacheProbe()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == InstrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((_, value, _, _) => _sum += value);
        _listener.Start();
    }

    /// <summary>The cached addresses of every silo, summed.</summary>
    public long Entries()
    {
        lock (_gate)
        {
            _sum = 0;
            _listener.RecordObservableInstruments();
            return _sum;
        }
    }

    public void Dispose() => _listener.Dispose();
}
