using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// The base of every HTTP scenario: each scenario class is abstract and has two sealed subclasses, one per backend, so the
/// same assertions hold for the in-memory store and for partition grains on a 2-silo cluster.
/// </summary>
public abstract class AdapterTestBase(Backend backend)
{
    protected Backend Backend { get; } = backend;

    /// <summary>
    /// Starts the app with the limiter configured by <paramref name="configure"/> and the endpoints of <paramref name="map"/>;
    /// <paramref name="beforeLimiting"/> adds middleware that runs before the limiter, such as forwarded headers.
    /// </summary>
    protected Task<TestApp> StartAsync(
        Action<RateLimitOptions>? configure,
        Action<WebApplication> map,
        Action<WebApplicationBuilder>? builder = null,
        Action<WebApplication>? beforeLimiting = null) =>
        TestApp.StartAsync(
            Backend,
            b =>
            {
                b.Services.AddOrleansRateLimiting(o =>
                {
                    if (Backend == Backend.Memory)
                    {
                        o.Backend = RateLimitBackend.Memory;
                    }

                    configure?.Invoke(o);
                });
                builder?.Invoke(b);
            },
            app =>
            {
                beforeLimiting?.Invoke(app);
                app.UseOrleansRateLimiting();
                map(app);
            });

    /// <summary>Sends <paramref name="times"/> requests to <paramref name="path"/> and returns their status codes, e.g. <c>200 200 429</c>.</summary>
    protected static async Task<string> StatusesAsync(HttpClient client, string path, int times, HttpMethod? method = null)
    {
        var statuses = new int[times];
        for (var i = 0; i < times; i++)
        {
            using var response = await client.SendAsync(new HttpRequestMessage(method ?? HttpMethod.Get, path));
            statuses[i] = (int)response.StatusCode;
        }

        return string.Join(' ', statuses);
    }

    protected static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path, HttpMethod? method = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    protected static async Task<HttpResponseMessage> SendAsync(HttpClient client, string path, HttpMethod? method = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await client.SendAsync(request);
    }

    protected static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var content) ? string.Join(",", content)
        : null;

    /// <summary>
    /// On grains a breach is counted by a one-way call, and the meta window opens when the grain runs it, by the fake clock;
    /// moving the clock before then would open the window late. Waits until the meta windows of <paramref name="key"/> have
    /// the given units remaining; on the memory store breaches are counted before the response, so there is nothing to wait for.
    /// </summary>
    protected async Task MetaBreachesCountedAsync(TestApp app, string key, params (string Limit, long Remaining)[] windows)
    {
        if (Backend != Backend.Grains)
        {
            return;
        }

        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var waited = Stopwatch.StartNew();
        foreach (var (limit, remaining) in windows)
        {
            var window = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse(limit), "meta", key);
            long seen;
            while ((seen = (await grains.StatsAsync(window)).Remaining) != remaining)
            {
                if (waited.Elapsed > TimeSpan.FromSeconds(10))
                {
                    throw new TimeoutException($"The meta window {limit} of {key} has {seen} remaining, not {remaining}.");
                }

                await Task.Delay(5);
            }
        }
    }
}
