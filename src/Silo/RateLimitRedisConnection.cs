using Orleans.RateLimit.Grains;
using StackExchange.Redis;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// The one Redis connection of the rate-limit window storage. It connects at first use, in the background, and reconnects
/// by itself, so a silo starts even while Redis is down.
/// </summary>
internal sealed class RateLimitRedisConnection : IAsyncDisposable
{
    private readonly Lazy<Task<IConnectionMultiplexer>> _connection;

    public RateLimitRedisConnection(RateLimitGrainOptions options)
    {
        var configuration = ConfigurationOptions.Parse(options.RedisConnectionString!);
        configuration.AbortOnConnectFail = false;
        _connection = new(async () => await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false));
    }

    public Task<IConnectionMultiplexer> GetAsync() => _connection.Value;

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            var connection = await _connection.Value.ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
