using System.Globalization;
using Orleans.RateLimit.Grains;
using StackExchange.Redis;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// The two Redis keys of a window partition: <c>{ServiceId}/ratelimit/{{Count}-{Index}}</c>, the hash of its windows, and
/// the same key plus <c>/expiry</c>, the sorted set of their expiries; e.g. <c>orleans-ratelimit/ratelimit/{16-3}</c> and
/// <c>orleans-ratelimit/ratelimit/{16-3}/expiry</c>.
/// </summary>
/// <remarks>
/// The braces around <c>{Count}-{Index}</c> are part of the key: a Redis Cluster hash tag, so that both keys of a partition
/// hash to one slot (a script may only touch keys of one slot) while partitions still spread over the cluster's nodes. The
/// count is in the key so that nodes configured with different partition counts never share a hash.
/// </remarks>
internal sealed class RedisPartitionKeys(string serviceId)
{
    private const string ExpirySuffix = "/expiry";

    private readonly string _prefix = serviceId + "/ratelimit/";

    /// <summary>The hash of <paramref name="partition"/>'s windows.</summary>
    public RedisKey Windows(WindowPartition partition) =>
        string.Create(CultureInfo.InvariantCulture, $"{_prefix}{{{partition.Count}-{partition.Index}}}");

    /// <summary>The sorted set of <paramref name="partition"/>'s window expiries.</summary>
    public RedisKey Expiry(WindowPartition partition) => Windows(partition).Append(ExpirySuffix);
}
