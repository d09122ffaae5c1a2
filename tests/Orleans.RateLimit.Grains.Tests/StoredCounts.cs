using System.Globalization;
using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Reads what Redis holds for a window: <c>{etag}|{start}:{count},{start}:{count}…</c>.</summary>
internal static class StoredCounts
{
    /// <summary>The sum of the counts stored for <paramref name="window"/>; <see langword="null"/> when Redis holds no record.</summary>
    public static async Task<long?> ReadAsync(IDatabase database, string serviceId, RateLimitWindowKey window)
    {
        var value = (string?)await database.HashGetAsync(StoredWindowKeys.PartitionOf(serviceId, window), StoredWindowKeys.FieldOf(window));
        if (value is null)
        {
            return null;
        }

        var buckets = value[(value.IndexOf('|', StringComparison.Ordinal) + 1)..];
        return buckets.Length == 0
            ? 0
            : buckets.Split(',').Sum(bucket => long.Parse(bucket[(bucket.IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>Whether Redis holds a record for <paramref name="window"/>.</summary>
    public static Task<bool> ExistsAsync(IDatabase database, string serviceId, RateLimitWindowKey window) =>
        database.HashExistsAsync(StoredWindowKeys.PartitionOf(serviceId, window), StoredWindowKeys.FieldOf(window));
}
