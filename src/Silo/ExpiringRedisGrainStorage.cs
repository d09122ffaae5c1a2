using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;
using Orleans.Storage;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// Orleans' Redis grain storage, plus an expiry on each window's key just after the window ends, so Redis forgets idle
/// clients by itself. (The Redis provider only knows one expiry for every key; windows of an hour and of a day need their own.)
/// </summary>
internal sealed class ExpiringRedisGrainStorage(
    IGrainStorage inner,
    RateLimitRedisConnection connection,
    RedisWindowKeys keys,
    RateLimitGrainOptions options,
    TimeProvider time,
    RateLimitGrainMetrics metrics,
    ILogger<ExpiringRedisGrainStorage> logger)
    : IGrainStorage
{
    private static readonly TimeSpan ShortestExpiry = TimeSpan.FromMilliseconds(1);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await inner.WriteStateAsync(stateName, grainId, grainState).ConfigureAwait(false);
        if (grainState.State is IExpiringGrainState { ExpiresAt: { } expiresAt })
        {
            try
            {
                // Relative to the grains' clock, so the expiry is right even when that clock is not the wall clock.
                var timeToLive = expiresAt - time.GetUtcNow() + options.ExpiryGrace;
                var database = (await connection.GetAsync().ConfigureAwait(false)).GetDatabase();
                await database.KeyExpireAsync(keys.For(grainId), timeToLive > ShortestExpiry ? timeToLive : ShortestExpiry).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // The write landed and grainState carries its new ETag: failing it now would make the grain's next write
                // conflict with its own record and merge, counting hits twice. The key lives on without an expiry until the
                // window's next write gives it one.
                metrics.ExpiryFailed();
                RedisStorageLog.ExpiryFailed(logger, grainId, exception);
            }
        }
    }
}
