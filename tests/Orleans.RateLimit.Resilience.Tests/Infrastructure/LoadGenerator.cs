using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>Sends bounded loads of real HTTP requests to a web node and records each request's answer and latency.</summary>
internal sealed class LoadGenerator : IDisposable
{
    public const string KeyHeader = "X-Api-Key";

    private readonly HttpClient _client;
    private readonly Stopwatch _clock;
    private readonly string _path;

    public LoadGenerator(Uri node, string path, Stopwatch clock)
    {
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = int.MaxValue })
        {
            BaseAddress = node,
            // A request left unanswered this long is recorded as unanswered, and the run goes on.
            Timeout = TimeSpan.FromSeconds(5),
        };
        _clock = clock;
        _path = path;
    }

    /// <summary>Runs <paramref name="plan"/>; the outcomes come back in the order the requests were sent.</summary>
    public async Task<IReadOnlyList<RequestOutcome>> RunAsync(LoadPlan plan)
    {
        var outcomes = new ConcurrentBag<RequestOutcome>();
        var start = _clock.Elapsed;
        var deadline = start + plan.Deadline;
        var next = -1;

        async Task LoopAsync()
        {
            while (true)
            {
                var index = Interlocked.Increment(ref next);
                if (index >= plan.Requests)
                {
                    return;
                }

                var wait = start + (plan.Spread * index / plan.Requests) - _clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }

                if (_clock.Elapsed > deadline)
                {
                    return;
                }

                outcomes.Add(await SendAsync(plan.Keys[index % plan.Keys.Count]));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, plan.Concurrency).Select(_ => Task.Run(LoopAsync)));
        return [.. outcomes.OrderBy(o => o.SentAt)];
    }

    /// <summary>Sends one request counted for <paramref name="key"/>.</summary>
    public async Task<RequestOutcome> SendAsync(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _path);
        request.Headers.Add(KeyHeader, key);
        var sentAt = _clock.Elapsed;
        var latency = Stopwatch.StartNew();
        try
        {
            // The whole response, body included, is read before the clock stops.
            using var response = await _client.SendAsync(request);
            latency.Stop();
            return new RequestOutcome(key, sentAt, latency.Elapsed, (int)response.StatusCode, Remaining(response), NodeTime(response), null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return new RequestOutcome(key, sentAt, latency.Elapsed, 0, null, null, e.Message);
        }
    }

    public void Dispose() => _client.Dispose();

    private static TimeSpan? NodeTime(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Server-Timing", out var values)
        && values.First() is { } timing && timing.StartsWith("node;dur=", StringComparison.Ordinal)
        && double.TryParse(timing["node;dur=".Length..], NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds)
            ? TimeSpan.FromMilliseconds(milliseconds)
            : null;

    private static long? Remaining(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-RateLimit-Remaining", out var values)
        && long.TryParse(values.First(), NumberStyles.None, CultureInfo.InvariantCulture, out var remaining)
            ? remaining
            : null;
}
