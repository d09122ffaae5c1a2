using System.Net;
using Orleans.RateLimit.Testing;
using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>A real redis-server on a free loopback port for one test fixture, with a connection for assertions.</summary>
public sealed class RedisServer : IAsyncLifetime
{
    private readonly RedisProcess _process = new();
    private ConnectionMultiplexer? _client;

    public string ConnectionString => _process.ConnectionString;

    /// <summary>A connection for assertions on what the server holds.</summary>
    public IDatabase Database => (_client ?? throw new InvalidOperationException("Redis is not started.")).GetDatabase();

    public async Task InitializeAsync()
    {
        await _process.StartAsync();
        _client = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { { IPAddress.Loopback, _process.Port } },
            AbortOnConnectFail = false,
        });
    }

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        _process.Dispose();
    }
}
