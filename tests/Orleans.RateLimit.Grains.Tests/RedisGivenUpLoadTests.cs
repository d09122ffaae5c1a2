using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.RateLimit.Silo;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// A partition that activates while redis-server is gone gives its load up at the storage timeout; the Redis client fails the
/// abandoned command later, on its own timeout.
/// </summary>
public sealed class RedisGivenUpLoadTests
{
    private const string StorageCategory = "Orleans.RateLimit.Silo.RedisWindowPartitionStorage";

    [Fact]
    public async Task A_load_given_up_at_the_storage_timeout_is_counted_and_logged_once_though_redis_fails_it_later()
    {
        using var server = new RedisProcess();
        await server.StartAsync();
        var clock = new FakeTimeProvider(TestClusters.Start);
        var logs = new CapturedLogs();
        await using var cluster = await TestClusters.StartAsync(
            1,
            clock,
            o =>
            {
                // The client fails a command it could not send after 1 s; the partition gives up after 300 ms of the grains' clock.
                o.RedisConnectionString = server.ConnectionString + ",connectTimeout=1000,asyncTimeout=1000,syncTimeout=1000";
                o.StorageTimeout = TimeSpan.FromMilliseconds(300);
            },
            "given-up-load-" + Guid.NewGuid().ToString("N"),
            services: services => services.AddSingleton<ILoggerProvider>(logs));
        using var metrics = new MetricRecorder(cluster);
        var first = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/hour");
        var other = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/hour");
        while (TestWindows.PartitionOf(other) == TestWindows.PartitionOf(first))
        {
            other = TestWindows.Unique(RateLimitStrategy.FixedWindow, "10/hour");
        }

        await cluster.Client.HitAsync(first);
        server.Stop();
        var connection = await cluster.Silos[0].ServiceProvider.GetRequiredService<RateLimitRedisConnection>().GetAsync();
        await TestClusters.WaitUntilAsync(() => Task.FromResult(!connection.IsConnected), TimeSpan.FromSeconds(10), "the client to see Redis gone");

        // The load waits in the client's backlog; the partition gives up on it and answers from an empty window.
        var hit = cluster.Client.HitAsync(other).AsTask();
        var elapsed = Stopwatch.StartNew();
        while (!hit.IsCompleted && elapsed.Elapsed < TimeSpan.FromSeconds(10))
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }

        Assert.Equal(9, (await hit).Stats.Remaining);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(1), $"the hit took {elapsed.Elapsed}: the load was not given up on at the storage timeout");
        Assert.Equal(1, metrics["orleans_ratelimit.window.read_failures"]);

        // Past the client's own timeout, which fails the abandoned command: nothing is counted or logged again.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(1, metrics["orleans_ratelimit.window.read_failures"]);
        var logged = Assert.Single(logs.Records, r => r.Category == StorageCategory && r.Level >= LogLevel.Information);
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.StartsWith($"Redis partition loads of the rate-limit window storage started failing (partition {TestWindows.PartitionOf(other)})", logged.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<OperationCanceledException>(logged.Exception);

        // Back, so that the silo's last writes, when it stops, need not wait for the client's timeouts.
        await server.StartAsync();
    }

    private sealed record Record(string Category, LogLevel Level, string Message, Exception? Exception);

    /// <summary>Every record of the silo's loggers, kept after the silo stops.</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<Record> _records = new();

        public IReadOnlyCollection<Record> Records => _records;

        public ILogger CreateLogger(string categoryName) => new Logger(_records, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<Record> records, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                records.Enqueue(new Record(category, logLevel, formatter(state, exception), exception));
        }
    }
}
