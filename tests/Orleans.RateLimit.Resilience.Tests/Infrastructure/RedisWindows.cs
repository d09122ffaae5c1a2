using System.Globalization;
using Orleans.RateLimit.Grains;
using StackExchange.Redis;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// Reads what the silos wrote to Redis: each window partition is a hash at <c>{ServiceId}/ratelimit/{{count}-{index}}</c>
/// whose field for a window (its storage key) holds <c>{etag}|{start}:{count},…</c> (src/Silo/StoredWindowFormat.cs).
/// </summary>
internal sealed class RedisWindows(string connectionString, string serviceId) : IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() =>
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        return ConnectionMultiplexer.ConnectAsync(options);
    });

    public RedisKey KeyOf(RateLimitWindowKey window)
    {
        var partition = new WindowPartition(WindowPartition.IndexOf(window.Key, WindowPartition.DefaultCount), WindowPartition.DefaultCount);
        return $"{serviceId}/ratelimit/{{{partition.Count.ToString(CultureInfo.InvariantCulture)}-{partition.Index.ToString(CultureInfo.InvariantCulture)}}}";
    }

    /// <summary>The count stored for <paramref name="window"/> (all its buckets); <see langword="null"/> when Redis has no record.</summary>
    public async Task<long?> CountAsync(RateLimitWindowKey window)
    {
        var database = (await _connection.Value).GetDatabase();
        var stored = (string?)await database.HashGetAsync(KeyOf(window), window.ToStorageKey());
        return stored is null ? null : SumOfCounts(stored);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            await (await _connection.Value).DisposeAsync();
        }
    }

    private static long SumOfCounts(string stored)
    {
        var buckets = stored[(stored.IndexOf('|', StringComparison.Ordinal) + 1)..];
        return buckets.Length == 0
            ? 0
            : buckets.Split(',').Sum(bucket => long.Parse(bucket[(bucket.IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture));
    }
}
