using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// Listens to a counter of the limiter's meter (<c>orleans_ratelimit.requests</c> unless told another) of one app, told apart
/// from the apps of other tests in this process by its <see cref="IMeterFactory"/>, and totals it by its tags, e.g.
/// <c>result=allowed path=memory</c>.
/// </summary>
internal sealed class RequestCounts : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);

    public RequestCounts(IServiceProvider services, string instrument = "orleans_ratelimit.requests")
    {
        var meters = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (published, listener) =>
        {
            if (published.Name == instrument && published.Meter.Name == "Orleans.RateLimit.AspNetCore" && ReferenceEquals(published.Meter.Scope, meters))
            {
                listener.EnableMeasurementEvents(published);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var name = new List<string>();
            foreach (var tag in tags)
            {
                name.Add($"{tag.Key.Replace("orleans_ratelimit.", "", StringComparison.Ordinal)}={tag.Value}");
            }

            _totals.AddOrUpdate(string.Join(' ', name), value, (_, total) => total + value);
        });
        _listener.Start();
    }

    /// <summary>The totals so far, by tags in the order written, e.g. <c>result=limited path=memory</c>.</summary>
    public IReadOnlyDictionary<string, long> Totals => new SortedDictionary<string, long>(_totals, StringComparer.Ordinal);

    public void Dispose() => _listener.Dispose();
}
