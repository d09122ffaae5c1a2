using System.Text.Json;
using Orleans.RateLimit.Grains;
using StackExchange.Redis;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// Reads what the silos wrote to Redis: a window grain's state is a hash at <c>{ServiceId}/ratelimit/ratelimitwindow/{grain key}</c>
/// (src/Silo/RedisWindowKeys.cs) whose <c>data</c> field is the JSON of the window's buckets.
/// </summary>
internal sealed class RedisWindows(string connectionString, string serviceId) : IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() =>
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        return ConnectionMultiplexer.ConnectAsync(options);
    });

    public RedisKey KeyOf(RateLimitWindowKey window) => $"{serviceId}/ratelimit/ratelimitwindow/{window.ToGrainKey()}";

    /// <summary>The count stored for <paramref name="window"/> (all its buckets); <see langword="null"/> when Redis has no record.</summary>
    public async Task<long?> CountAsync(RateLimitWindowKey window)
    {
        var database = (await _connection.Value).GetDatabase();
        var json = (string?)await database.HashGetAsync(KeyOf(window), "data");
        return json is null ? null : SumOfCounts(json);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            await (await _connection.Value).DisposeAsync();
        }
    }

    private static long SumOfCounts(string json)
    {
        using var document = JsonDocument.Parse(json);
        var counts = document.RootElement.EnumerateObject().First(p => p.Name.Equals("Counts", StringComparison.OrdinalIgnoreCase)).Value;
        if (counts.ValueKind == JsonValueKind.Object && counts.TryGetProperty("$values", out var values))
        {
            counts = values;
        }

        return counts.EnumerateArray().Sum(count => count.GetInt64());
    }
}
