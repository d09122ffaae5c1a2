using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Where a window's state is stored in Redis, written out independently of the silo's key builder.</summary>
internal static class StoredWindowKeys
{
    public static RedisKey For(string serviceId, string grainKey, string grainType = "ratelimitwindow") =>
        $"{serviceId}/ratelimit/{grainType}/{grainKey}";
}
