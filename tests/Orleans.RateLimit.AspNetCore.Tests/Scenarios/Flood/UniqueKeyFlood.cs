using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// Sends one request per unique client key (header <see cref="Header"/> = <c>{prefix}{n}</c>) over a bounded number of
/// keep-alive connections, spread over the given nodes, and fails when any answer is not 200 or the flood outlasts its time.
/// </summary>
internal static class UniqueKeyFlood
{
    public const string Header = "X-Client";

    /// <summary>Concurrent requests in flight; each has its own connection, so the server sees this many clients at once.</summary>
    private const int Connections = 8;

    /// <returns>How long the flood took.</returns>
    public static async Task<TimeSpan> RunAsync(IReadOnlyList<HttpClient> nodes, string path, string prefix, int requests, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var clients = nodes.Select(node => new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = Connections })
        {
            BaseAddress = node.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        }).ToList();

        var next = -1;
        var failures = 0;
        string? firstFailure = null;
        var elapsed = Stopwatch.StartNew();
        try
        {
            var workers = Enumerable.Range(0, Connections).Select(worker => Task.Run(async () =>
            {
                var client = clients[worker % clients.Count];
                int n;
                while ((n = Interlocked.Increment(ref next)) < requests)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, path);
                    request.Headers.Add(Header, prefix + n.ToString(CultureInfo.InvariantCulture));
                    using var response = await client.SendAsync(request, deadline.Token);
                    if (response.StatusCode != HttpStatusCode.OK && Interlocked.Increment(ref failures) == 1)
                    {
                        firstFailure = $"{prefix}{n}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(deadline.Token)}";
                    }
                }
            }));
            await Task.WhenAll(workers);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"The flood of {requests} requests did not finish within {timeout.TotalSeconds} s (at request {next}).");
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        Assert.True(failures == 0, $"{failures} of {requests} first requests of a client were not answered 200; the first: {firstFailure}");
        return elapsed.Elapsed;
    }
}
