using StackExchange.Redis;

namespace Orleans.RateLimit.HttpBench;

/// <summary>
/// The peer limiter: three fixed windows per client (1 s, 1 min, 1 h) counted in Redis by one script call per request, each
/// counter incremented and given its expiry on its first hit; a request over any window gets 429.
/// </summary>
internal sealed class RedisWindowLimiter : IDisposable
{
    // KEYS: one counter per window. ARGV: the window lengths in milliseconds, then the permit of every window.
    // Returns 0 when the request is admitted, else the 1-based index of the first window it is over.
    private const string Script = """
        local permit = tonumber(ARGV[#KEYS + 1])
        local over = 0
        for i = 1, #KEYS do
          local count = redis.call('INCR', KEYS[i])
          if count == 1 then
            redis.call('PEXPIRE', KEYS[i], ARGV[i])
          end
          if over == 0 and count > permit then
            over = i
          end
        end
        return over
        """;

    private readonly ConnectionMultiplexer _connection;
    private readonly IDatabase _database;
    private readonly byte[] _scriptSha;
    private readonly RedisValue[] _arguments;

    private RedisWindowLimiter(ConnectionMultiplexer connection, byte[] scriptSha, long permit)
    {
        _connection = connection;
        _database = connection.GetDatabase();
        _scriptSha = scriptSha;
        _arguments = [1_000, 60_000, 3_600_000, permit];
    }

    /// <summary>Connects to <paramref name="endpoint"/> and loads the script, so that each request sends only its SHA (EVALSHA).</summary>
    public static RedisWindowLimiter Connect(string endpoint, long permit)
    {
        var connection = ConnectionMultiplexer.Connect(endpoint);
        var sha = connection.GetServer(connection.GetEndPoints()[0]).ScriptLoad(Script);
        return new RedisWindowLimiter(connection, sha, permit);
    }

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var client = context.Request.Headers[BenchSettings.ClientHeader].ToString();
        RedisKey[] keys = ["rl:" + client + ":s", "rl:" + client + ":m", "rl:" + client + ":h"];
        var result = await _database.ScriptEvaluateAsync(_scriptSha, keys, _arguments);
        if ((long)result != 0)
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            return;
        }

        await next(context);
    }

    public void Dispose() => _connection.Dispose();
}
