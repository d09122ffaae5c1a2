using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Testing;
using Xunit.Abstractions;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// Thousands of requests over real HTTP whose key header and dynamic-limit header are hostile: every answer must be the one
/// <see cref="HostileTrafficModel"/> predicts (200, or 429 naming the broken limit), and the only errors logged the expected
/// rejections of limit texts and skips of empty keys, each rejection quoting its input.
/// </summary>
public abstract class HostileInputTests(Backend backend, int requests, ITestOutputHelper output) : AdapterTestBase(backend)
{
    private const string KeyHeader = "X-Client";
    private const string LimitHeader = "X-Limit";
    private const string Endpoint = "/h";
    private const string DefaultLimit = "3/minute";
    private const int Seed = 20_261_124;
    private static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Hostile_keys_and_dynamic_limits_get_the_counted_answer_and_log_only_the_expected_errors()
    {
        await using var app = await StartHostileAppAsync();
        var clients = app.Nodes.Select(node => Utf8Client(node.BaseAddress!)).ToList();
        var model = new HostileTrafficModel(Endpoint, [RateLimitItem.Parse(DefaultLimit)]);
        var values = new HostileHeaderValues(new Random(Seed));
        int sent = 0, unsendable = 0, ok = 0, rejected = 0;
        var elapsed = Stopwatch.StartNew();
        try
        {
            for (var i = 0; i < requests; i++)
            {
                Assert.True(elapsed.Elapsed < TimeBudget, $"Only {i} of {requests} requests ran within {TimeBudget.TotalSeconds} s.");
                var key = values.NextKey();
                var limit = values.NextLimit();
                using var request = new HttpRequestMessage(HttpMethod.Get, Endpoint);
                if (!TryAdd(request, KeyHeader, key) || !TryAdd(request, LimitHeader, limit))
                {
                    unsendable++;
                    continue;
                }

                var (status, brokenLimit) = model.Next(ServerSide(key), ServerSide(limit));
                using var response = await clients[i % clients.Count].SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                var actual = (int)response.StatusCode;
                var what = $"Request {i} (seed {Seed}) with {KeyHeader} {Shown(key)} and {LimitHeader} {Shown(limit)}";
                Assert.True(actual is 200 or 429, $"{what} got {actual}: {body}");
                Assert.True(actual == status, $"{what} got {actual}, expected {status}: {body}");
                if (actual == 200)
                {
                    using var echo = JsonDocument.Parse(body);
                    Assert.Equal(ServerSide(key), echo.RootElement.GetProperty("key").GetString());
                    Assert.Equal(ServerSide(limit), echo.RootElement.GetProperty("limit").GetString());
                    ok++;
                }
                else
                {
                    Assert.Equal(brokenLimit, await RouteLimitProbe.DetailOfAsync(response));
                    rejected++;
                }

                sent++;
            }
        }
        finally
        {
            clients.ForEach(client => client.Dispose());
        }

        output.WriteLine(
            $"{Backend}: seed {Seed}, {sent} sent in {elapsed.ElapsedMilliseconds} ms ({unsendable} not sendable: NUL, CR or LF), {ok} × 200, {rejected} × 429, " +
            $"{model.RejectedTexts.Count} limit texts rejected, {model.SkippedLimits} limits skipped for an empty key, {model.DistinctWindows} windows");

        AssertErrorsLogged(app, model.ExpectedErrors);
        foreach (var (text, message) in model.RejectedTexts)
        {
            Assert.Contains($"Couldn't parse rate limit string {QuotedInput.Of(text)}: ", message, StringComparison.Ordinal);
        }

        Assert.Equal(rejected, app.Logs.Messages(LogLevel.Information).Count(m => m.EndsWith($" exceeded at endpoint: {Endpoint}", StringComparison.Ordinal)));

        // The storm left counting intact: for a fresh key, and for a window it filled once that window has passed.
        Assert.Equal("200 200 429", await StatusesWithAsync(app, 3, (KeyHeader, "after-the-storm"), (LimitHeader, "2/minute")));
        Assert.Equal((429, "3 per 1 minute"), model.Next("alice", null));
        Assert.Equal("429", await StatusesWithAsync(app, 1, (KeyHeader, "alice")));
        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("200 200 200 429", await StatusesWithAsync(app, 4, (KeyHeader, "alice")));

        // An empty key still skips the limit, logged, and lets the request through.
        var errorsBefore = app.Logs.Messages(LogLevel.Error).Count;
        Assert.Equal("200 200 200", await StatusesWithAsync(app, 3, (KeyHeader, ""), (LimitHeader, "2/minute")));
        Assert.Equal(
            Enumerable.Repeat("Skipping limit: 2 per 1 minute. Empty value found in parameters.", 3),
            app.Logs.Messages(LogLevel.Error).Skip(errorsBefore));
    }

    [Fact]
    public async Task A_dynamic_limit_with_a_seconds_multiple_past_the_int_range_is_logged_and_the_defaults_apply()
    {
        await using var app = await StartHostileAppAsync();

        Assert.Equal("200 200 200 429", await StatusesWithAsync(app, 4, (KeyHeader, "k"), (LimitHeader, "1/2147483648 seconds")));
        var logged = app.Logs.Messages(LogLevel.Error);
        Assert.Equal(4, logged.Count);
        Assert.All(logged, message => Assert.StartsWith(
            $"failed to load ratelimit for endpoint {Endpoint}: Couldn't parse rate limit string '1/2147483648 seconds': ", message, StringComparison.Ordinal));
    }

    private Task<TestApp> StartHostileAppAsync() =>
        StartAsync(
            o =>
            {
                o.KeySelector = KeySelectors.Header(KeyHeader);
                o.DefaultLimits.Add(DefaultLimit);
                o.HeadersEnabled = true;
            },
            a => a.MapGet(Endpoint, (HttpContext c) => Results.Json(new { key = HeaderOf(c, KeyHeader), limit = HeaderOf(c, LimitHeader) }))
                .RateLimit(c => HeaderOf(c, LimitHeader)));

    private static string? HeaderOf(HttpContext context, string name) =>
        context.Request.Headers.TryGetValue(name, out var values) ? values.ToString() : null;

    /// <summary>Sends <paramref name="times"/> requests with <paramref name="headers"/>, alternating nodes, and returns their statuses.</summary>
    private static async Task<string> StatusesWithAsync(TestApp app, int times, params (string Name, string Value)[] headers)
    {
        var statuses = new List<int>();
        for (var i = 0; i < times; i++)
        {
            statuses.Add((int)await StatusAsync(app.Nodes[i % app.Nodes.Count], Endpoint, null, headers));
        }

        return string.Join(' ', statuses);
    }

    /// <summary>A client that sends header values as UTF-8, as browsers and most HTTP stacks do; the default refuses non-ASCII.</summary>
    private static HttpClient Utf8Client(Uri baseAddress) =>
        new(new SocketsHttpHandler { UseProxy = false, RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>
    /// Adds the header unless it is left out; <see langword="false"/> for a value HTTP forbids in a field (NUL, CR, LF), which
    /// Kestrel answers with 400 before any middleware runs, or one the client refuses.
    /// </summary>
    private static bool TryAdd(HttpRequestMessage request, string name, string? value) =>
        value is null || (value.IndexOfAny(['\0', '\r', '\n']) < 0 && request.Headers.TryAddWithoutValidation(name, value));

    /// <summary>The value as the endpoint reads it: UTF-8 on the wire (a lone surrogate becomes U+FFFD), spaces and tabs around it trimmed.</summary>
    private static string? ServerSide(string? value) =>
        value is null ? null : Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(value)).Trim(' ', '\t');

    private static string Shown(string? value) =>
        value is null ? "(missing)" : $"'{QuotedInput.Printable(value.Length > 200 ? value[..200] + "…" : value)}' ({value.Length} chars)";

    private static void AssertErrorsLogged(TestApp app, List<string> expected)
    {
        var logged = app.Logs.Records.Where(r => r.Level >= LogLevel.Error).ToList();
        for (var i = 0; i < Math.Max(expected.Count, logged.Count); i++)
        {
            var want = i < expected.Count ? expected[i] : "(nothing more)";
            var got = i < logged.Count ? logged[i].ToString() : "(nothing more)";
            Assert.True(
                i < expected.Count && i < logged.Count && logged[i].Exception is null && logged[i].Message == expected[i],
                $"Error log {i} of {logged.Count} (expected {expected.Count}): expected {QuotedInput.Printable(want)}, got {QuotedInput.Printable(got)}");
        }
    }
}

public sealed class HostileInputTestsOnMemory(ITestOutputHelper output) : HostileInputTests(Backend.Memory, 10_000, output);

// Half the requests: each costs a grain call across a 2-silo cluster, and the full count takes about 13 s on a 2-core machine.
public sealed class HostileInputTestsOnGrains(ITestOutputHelper output) : HostileInputTests(Backend.Grains, 5_000, output);
