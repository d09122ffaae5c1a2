using System.Globalization;
using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Where a window is stored in Redis, written out independently of the silo's key builder.</summary>
/// <remarks>One hash per partition, <c>{ServiceId}/ratelimit/{{Count}-{Index}}</c>, with a field per window named by its storage key.</remarks>
internal static class StoredWindowKeys
{
    /// <summary>The hash of the partition that owns <paramref name="window"/>.</summary>
    public static RedisKey PartitionOf(string serviceId, RateLimitWindowKey window, int partitions = WindowPartition.DefaultCount) =>
        string.Create(CultureInfo.InvariantCulture, $"{serviceId}/ratelimit/{{{partitions}-{WindowPartition.IndexOf(window.Key, partitions)}}}");

    /// <summary>The field of <paramref name="window"/> in its partition's hash.</summary>
    public static RedisValue FieldOf(RateLimitWindowKey window) => window.ToStorageKey();
}
