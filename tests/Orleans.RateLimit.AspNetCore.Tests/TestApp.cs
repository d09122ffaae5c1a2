using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.RateLimit.Testing;
using Orleans.Runtime;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// Real web nodes on 127.0.0.1 sharing one fake clock and one log sink: a single node for <see cref="Backend.Memory"/>, two nodes
/// whose embedded silos form one cluster for <see cref="Backend.Grains"/>.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    /// <summary>A start time with a fractional second, so truncation mistakes show.</summary>
    public static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, 250, TimeSpan.Zero);

    private static readonly TimeSpan ClusterTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DeactivationTimeout = TimeSpan.FromSeconds(5);

    private readonly List<WebApplication> _apps;
    private int _disposed;

    private TestApp(FakeTimeProvider clock, TestLogSink logs, List<WebApplication> apps)
    {
        Clock = clock;
        Logs = logs;
        _apps = apps;
        Nodes = apps.Select(app => new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = TestNode.BaseAddress(app),
            Timeout = TimeSpan.FromSeconds(30),
        }).ToList();
    }

    public FakeTimeProvider Clock { get; }

    /// <summary>A client of node 0.</summary>
    public HttpClient Client => Nodes[0];

    /// <summary>One client per web node, in node order.</summary>
    public IReadOnlyList<HttpClient> Nodes { get; }

    /// <summary>Node 0's services.</summary>
    public IServiceProvider Services => _apps[0].Services;

    public TestLogSink Logs { get; }

    /// <summary>The services of node <paramref name="index"/>, e.g. for its <see cref="IGrainFactory"/>.</summary>
    public IServiceProvider ServicesOf(int index) => _apps[index].Services;

    /// <summary>
    /// Starts the nodes of <paramref name="backend"/>; every node gets the same <paramref name="configureBuilder"/> and
    /// <paramref name="configureApp"/>. Returns once every node serves HTTP and, for grains, both silos see each other.
    /// </summary>
    public static async Task<TestApp> StartAsync(
        Backend backend,
        Action<WebApplicationBuilder>? configureBuilder,
        Action<WebApplication> configureApp)
    {
        ArgumentNullException.ThrowIfNull(configureApp);
        return backend == Backend.Memory
            ? await StartNodesAsync([null], configureBuilder, configureApp)
            : await LoopbackPorts.StartAsync(4, ports => StartNodesAsync(SilosOn(ports), configureBuilder, configureApp));
    }

    /// <summary>Stops node 1 before node 0, so the primary silo, which holds the membership table, goes last.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        foreach (var client in Nodes)
        {
            client.Dispose();
        }

        await DeactivateGrainsAsync();
        await StopAsync(_apps);
    }

    /// <summary>Two silos of one new cluster whose primary is the first.</summary>
    private static TestNode.SiloPorts?[] SilosOn(int[] ports)
    {
        var primary = new IPEndPoint(IPAddress.Loopback, ports[0]);
        var cluster = "aspnetcore-tests-" + Guid.NewGuid().ToString("N");
        return [new(ports[0], ports[1], primary, cluster), new(ports[2], ports[3], primary, cluster)];
    }

    /// <summary>One node per entry of <paramref name="silos"/>, with no silo for <see langword="null"/>; stopped again if one fails to start.</summary>
    private static async Task<TestApp> StartNodesAsync(
        TestNode.SiloPorts?[] silos,
        Action<WebApplicationBuilder>? configureBuilder,
        Action<WebApplication> configureApp)
    {
        var clock = new FakeTimeProvider(Start);
        var logs = new TestLogSink();
        var apps = new List<WebApplication>();
        try
        {
            foreach (var silo in silos)
            {
                var app = TestNode.Build(clock, logs, silo, configureBuilder, configureApp);
                apps.Add(app);
                await app.StartAsync();
            }

            if (silos.Length > 1)
            {
                await WaitForClusterAsync(apps);
            }

            return new TestApp(clock, logs, apps);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            try
            {
                await StopAsync(apps);
            }
            catch (AggregateException cleanup)
            {
                throw new AggregateException(e, cleanup);
            }

            throw;
        }
    }

    /// <summary>
    /// Deactivates every grain while both silos are up. A window deactivated by the last silo's shutdown writes to a memory
    /// storage grain; when that storage grain lived on the silo already stopped, no active silo is left to place it, and the
    /// write waits for the whole shutdown timeout.
    /// </summary>
    private async Task DeactivateGrainsAsync()
    {
        if (_apps.Count < 2)
        {
            return;
        }

        try
        {
            var management = _apps[0].Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
            await management.ForceActivationCollection(TimeSpan.Zero).WaitAsync(DeactivationTimeout);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Best effort: the shutdown that follows is bounded on its own.
        }
    }

    private static async Task WaitForClusterAsync(List<WebApplication> apps)
    {
        var views = apps.Select(app => app.Services.GetRequiredService<IClusterMembershipService>()).ToList();
        var waited = Stopwatch.StartNew();
        while (!views.All(view => view.CurrentSnapshot.Members.Values.Count(member => member.Status == SiloStatus.Active) == apps.Count))
        {
            if (waited.Elapsed > ClusterTimeout)
            {
                var seen = string.Join(", ", views.Select(view => view.CurrentSnapshot.Members.Values.Count(member => member.Status == SiloStatus.Active)));
                throw new TimeoutException(
                    $"The {apps.Count} embedded silos did not all see {apps.Count} active silos within {ClusterTimeout.TotalSeconds} s (active silos seen per node: {seen}).");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Stops and disposes every node, last first, even when one of them fails to stop.</summary>
    private static async Task StopAsync(List<WebApplication> apps)
    {
        using var timeout = new CancellationTokenSource(StopTimeout);
        List<Exception>? failures = null;
        for (var i = apps.Count - 1; i >= 0; i--)
        {
            try
            {
                await apps[i].StopAsync(timeout.Token);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                (failures ??= []).Add(e);
            }
            finally
            {
                await apps[i].DisposeAsync();
            }
        }

        if (failures is not null)
        {
            throw new AggregateException("Stopping the test app's nodes failed.", failures);
        }
    }
}
