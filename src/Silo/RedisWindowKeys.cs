using System.Text;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using StackExchange.Redis;

namespace Orleans.RateLimit.Silo;

/// <summary>The Redis key of a window grain's state: <c>{ServiceId}/ratelimit/{grain id}</c>.</summary>
internal sealed class RedisWindowKeys(IOptions<ClusterOptions> cluster)
{
    private readonly RedisKey _prefix = Encoding.UTF8.GetBytes($"{cluster.Value.ServiceId}/ratelimit/");

    public RedisKey For(GrainId grainId) => _prefix.Append(grainId.ToString());
}
