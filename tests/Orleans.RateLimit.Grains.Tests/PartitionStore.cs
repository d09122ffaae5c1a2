using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.RateLimit.Silo;
using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>A storage on its own service id, fake clock, meters and log, with an admin connection for assertions.</summary>
internal sealed class PartitionStore : IAsyncDisposable
{
    /// <summary>The partition the tests write.</summary>
    public static readonly WindowPartition Partition = new(1, 4);

    private readonly ServiceProvider _services;
    private readonly RateLimitRedisConnection _connection;
    private readonly ConnectionMultiplexer _admin;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _metrics = new();

    private PartitionStore(ServiceProvider services, RateLimitRedisConnection connection, ConnectionMultiplexer admin)
    {
        _services = services;
        _connection = connection;
        _admin = admin;
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _metrics.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        _listener.Start();
        var keys = new RedisPartitionKeys(ServiceId);
        HashKey = keys.Windows(PartitionStore.Partition).ToString();
        ExpiryKey = keys.Expiry(PartitionStore.Partition).ToString();
        Storage = new RedisWindowPartitionStorage(
            connection, keys, Clock, new RateLimitGrainMetrics(meterFactory), new ListLogger<RedisWindowPartitionStorage>(Logs));
    }

    public string ServiceId { get; } = "partition-tests-" + Guid.NewGuid().ToString("N");

    public FakeTimeProvider Clock { get; } = new();

    public ConcurrentQueue<LogEntry> Logs { get; } = new();

    public RedisWindowPartitionStorage Storage { get; }

    public string HashKey { get; }

    public string ExpiryKey { get; }

    public IDatabase Admin => _admin.GetDatabase();

    public static async Task<PartitionStore> StartAsync(string connectionString)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var connection = new RateLimitRedisConnection(new RateLimitGrainOptions { RedisConnectionString = connectionString });
        var admin = await ConnectionMultiplexer.ConnectAsync(connectionString + ",allowAdmin=true,abortConnect=false");
        return new PartitionStore(services, connection, admin);
    }

    public long Metric(string name) => _metrics.GetValueOrDefault(name);

    /// <summary>Until the storage's own connection is up again, so that its next call reaches Redis.</summary>
    public async Task WaitUntilConnectedAsync(TimeSpan timeout)
    {
        var connection = await _connection.GetAsync();
        var waited = Stopwatch.StartNew();
        while (!connection.IsConnected)
        {
            Assert.True(waited.Elapsed < timeout, $"the storage's connection did not come back within {timeout}");
            await Task.Delay(50);
        }
    }

    /// <summary>What was logged at Information and above.</summary>
    public List<LogEntry> Logged() => Logs.Where(entry => entry.Level >= LogLevel.Information).ToList();

    public Task<IReadOnlyList<StoredWindow>> LoadAsync() => Storage.LoadAsync(PartitionStore.Partition, CancellationToken.None);

    public Task<IReadOnlyList<WindowWriteResult>> WriteAsync(params WindowWrite[] writes) =>
        Storage.WriteAsync(PartitionStore.Partition, writes, CancellationToken.None);

    /// <summary>Everything the partition's keys hold, as text, to show that a call changed nothing.</summary>
    public async Task<string> SnapshotAsync()
    {
        var fields = await Admin.HashGetAllAsync(HashKey);
        var scores = await Admin.SortedSetRangeByRankWithScoresAsync(ExpiryKey);
        return string.Join(";", fields.Select(field => $"{field.Name}={field.Value}").Order(StringComparer.Ordinal))
            + " / " + string.Join(";", scores.Select(entry => $"{entry.Element}={entry.Score.ToString(CultureInfo.InvariantCulture)}"));
    }

    /// <summary>Calls per command since the server started, from <c>INFO commandstats</c>.</summary>
    public async Task<Dictionary<string, long>> CommandCallsAsync()
    {
        var info = (string)(await Admin.ExecuteAsync("INFO", "commandstats"))!;
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in info.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
                var stats = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(',');
                calls[name] = long.Parse(stats.Single(stat => stat.StartsWith("calls=", StringComparison.Ordinal))["calls=".Length..], CultureInfo.InvariantCulture);
            }
        }

        return calls;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _connection.DisposeAsync();
        await _admin.DisposeAsync();
        await _services.DisposeAsync();
    }
}

internal sealed record LogEntry(LogLevel Level, int EventId, string Message, bool HasException);

internal sealed class ListLogger<T>(ConcurrentQueue<LogEntry> entries) : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        entries.Enqueue(new LogEntry(logLevel, eventId.Id, formatter(state, exception), exception is not null));
}
