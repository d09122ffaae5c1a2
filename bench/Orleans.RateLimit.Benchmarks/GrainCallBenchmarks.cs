using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.RateLimit.Grains;
using StackExchange.Redis;

using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.Benchmarks;

/// <summary>Where the silo of <see cref="GrainCallBenchmarks"/> writes the state of windows longer than 10 s.</summary>
public enum WindowStorage
{
    /// <summary>No storage: windows live in the partition grains' memory only (the default without a Redis connection string).</summary>
    Memory,

    /// <summary>A redis-server that the benchmark starts on a free loopback port.</summary>
    Redis,
}

/// <summary>
/// Grain calls in-process: a silo hosted in the benchmark process, called through the host's <see cref="IGrainFactory"/> with
/// cached grain references. Each invocation makes <see cref="CallsPerInvoke"/> sequential awaited calls, as a request
/// pipeline would, and the times reported are per call. The no-op grain call is the baseline of each storage.
/// </summary>
[Config(typeof(GrainBenchmarkConfig))]
public class GrainCallBenchmarks
{
    private const int CallsPerInvoke = 32;
    private const int MaxWarmUpRounds = 2_000_000;
    private const int WarmUpCallers = 4;
    private static readonly TimeSpan WarmUpDuration = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    private IHost? _host;
    private RedisProcess? _redis;
    private INoOpGrain _noOp = null!;
    private WindowOwner _shortWindow = null!;
    private WindowOwner _hourWindow = null!;

    [Params(WindowStorage.Memory, WindowStorage.Redis)]
    public WindowStorage Storage { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        if (Storage == WindowStorage.Redis)
        {
            _redis = new RedisProcess();
            await _redis.StartAsync();
        }

        var ports = LoopbackPorts.Take(2);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = StopTimeout);
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(ports[0], ports[1], serviceId: "bench", clusterId: "bench")
            .AddRateLimitGrains(grains =>
            {
                grains.RedisConnectionString = _redis?.ConnectionString;
                grains.MaxFlushInterval = FlushInterval; // an hour-long window is written behind every 2 s, not every 30 s
            }));
        _host = builder.Build();
        await _host.StartAsync();

        var grains = _host.Services.GetRequiredService<IGrainFactory>();
        _noOp = grains.GetGrain<INoOpGrain>("noop");
        _shortWindow = new WindowOwner(grains, new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("1000000/second"), "bench", "client"));
        _hourWindow = new WindowOwner(grains, new RateLimitWindowKey(RateLimitStrategy.FixedWindow, RateLimitItem.Parse("1000000000/hour"), "bench", "client"));

        await WarmUpAsync();
        if (_redis is not null)
        {
            await WaitForRedisWriteAsync(_redis);
        }
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        try
        {
            if (_redis is not null)
            {
                await ReportRedisTrafficAsync(_redis);
            }

            if (_host is not null)
            {
                using var timeout = new CancellationTokenSource(StopTimeout);
                await _host.StopAsync(timeout.Token);
            }
        }
        finally
        {
            _host?.Dispose();
            _host = null;
            _redis?.Dispose();
            _redis = null;
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CallsPerInvoke, Description = "NoOpGrain.Ping")]
    public async Task<int> NoOpCall()
    {
        var sum = 0;
        for (var i = 0; i < CallsPerInvoke; i++)
        {
            sum += await _noOp.Ping(i);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = CallsPerInvoke, Description = "Hit(1) 1000000/second")]
    public async Task<int> HitShortWindow()
    {
        var admitted = 0;
        for (var i = 0; i < CallsPerInvoke; i++)
        {
            admitted += (await _shortWindow.Hit(1)).Allowed ? 1 : 0;
        }

        return admitted;
    }

    [Benchmark(OperationsPerInvoke = CallsPerInvoke, Description = "Hit(1) 1000000000/hour")]
    public async Task<int> HitHourWindow()
    {
        var admitted = 0;
        for (var i = 0; i < CallsPerInvoke; i++)
        {
            admitted += (await _hourWindow.Hit(1)).Allowed ? 1 : 0;
        }

        return admitted;
    }

    /// <summary>
    /// Seconds of mixed load before BenchmarkDotNet's own warm-up: sequential and concurrent calls to all three grains, so
    /// that JIT tiering, PGO and the thread pool have settled before anything is timed.
    /// </summary>
    private async Task WarmUpAsync()
    {
        var clock = Stopwatch.StartNew();
        var callers = Enumerable.Range(0, WarmUpCallers).Select(_ => Task.Run(async () =>
        {
            for (var round = 0; round < MaxWarmUpRounds && clock.Elapsed < WarmUpDuration; round++)
            {
                await _noOp.Ping(round);
                await _shortWindow.Hit(1);
                await _hourWindow.Hit(1);
            }
        }));
        await Task.WhenAll(callers);

        // Then the sequential pattern that is measured, for another second.
        var sequential = Stopwatch.StartNew();
        for (var round = 0; round < MaxWarmUpRounds && sequential.Elapsed < TimeSpan.FromSeconds(1); round++)
        {
            await NoOpCall();
            await HitShortWindow();
            await HitHourWindow();
        }

        var decision = await _hourWindow.Hit(1);
        if (!decision.Allowed || !(await _shortWindow.Hit(1)).Allowed)
        {
            throw new InvalidOperationException("A benchmark window rejected a hit during warm-up; its limit is too low for this machine.");
        }
    }

    /// <summary>Fails the setup unless the hour-long window has reached Redis, so the Redis case really writes behind.</summary>
    private static async Task WaitForRedisWriteAsync(RedisProcess redis)
    {
        await using var connection = await ConnectAdminAsync(redis);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < FlushInterval * 5)
        {
            if (await server.DatabaseSizeAsync() > 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"No window state reached Redis within {(FlushInterval * 5).TotalSeconds} s of hitting an hour-long window.");
    }

    /// <summary>Prints what the silo sent to Redis during the run: keys held, and calls per command.</summary>
    /// <remarks>Informational only: a failure here is printed, never thrown, so it cannot void the measurements.</remarks>
    private static async Task ReportRedisTrafficAsync(RedisProcess redis)
    {
        try
        {
            await using var connection = await ConnectAdminAsync(redis);
            var server = connection.GetServer(connection.GetEndPoints()[0]);
            var keys = await server.DatabaseSizeAsync();
            var stats = await server.InfoAsync("commandstats");
            var calls = stats.SelectMany(group => group)
                .Where(pair => !pair.Key.Contains("info", StringComparison.Ordinal) && !pair.Key.Contains("dbsize", StringComparison.Ordinal))
                .Select(pair => $"{pair.Key.Replace("cmdstat_", string.Empty, StringComparison.Ordinal)} {pair.Value.Split(',')[0]}");
            Console.WriteLine($"// Redis after the run: {keys} key(s); commands: {string.Join("; ", calls)}");
        }
        catch (RedisException exception)
        {
            Console.WriteLine($"// Redis after the run: could not read its statistics: {exception.Message}");
        }
    }

    private static async Task<ConnectionMultiplexer> ConnectAdminAsync(RedisProcess redis)
    {
        var options = ConfigurationOptions.Parse(redis.ConnectionString);
        options.AllowAdmin = true;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }
}

/// <summary>One window's owner with the call that hits it built once, as the adapter's store keeps its references.</summary>
internal sealed class WindowOwner(IGrainFactory grains, RateLimitWindowKey window)
{
    private readonly IWindowPartitionGrain _owner = grains.GetWindowOwner(window);
    private readonly WindowRef _window = new(window);

    public async ValueTask<WindowDecision> Hit(int cost) =>
        (await _owner.Decide([new WindowCall(_window, WindowOperation.Hit, cost, StopIfRefused: false)]).ConfigureAwait(false))[0];
}
