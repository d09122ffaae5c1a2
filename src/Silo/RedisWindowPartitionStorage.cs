using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;
using StackExchange.Redis;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// Window partitions in Redis: each partition is one hash of its windows and one sorted set of their expiries, and each load
/// or flush of a partition is one script call.
/// </summary>
/// <remarks>
/// <para>
/// Layout, per partition (<see cref="RedisPartitionKeys"/>, <see cref="StoredWindowFormat"/>, <see cref="RedisPartitionScripts"/>):
/// </para>
/// <list type="bullet">
/// <item><description>
/// Hash <c>{ServiceId}/ratelimit/{{Count}-{Index}}</c> (the inner braces are literal, a Redis Cluster hash tag), e.g.
/// <c>orleans-ratelimit/ratelimit/{16-3}</c>: field = window id, value = <c>{etag}|{start}:{count},{start}:{count}…</c> in
/// decimal, starts in UTC ticks. Field <c>#etag</c> is the partition's ETag counter.
/// </description></item>
/// <item><description>
/// Sorted set <c>{ServiceId}/ratelimit/{{Count}-{Index}}/expiry</c>: member = window id, score = the window's
/// <see cref="WindowWrite.ExpiresAt"/> in Unix milliseconds.
/// </description></item>
/// <item><description>
/// ETags come from the counter, incremented per written window; a new counter starts at the server's time in microseconds,
/// so an ETag is never handed out twice for a window, even after a delete or after the whole partition vanished. ETag 0
/// means no record.
/// </description></item>
/// <item><description>
/// Every call forgets up to <see cref="RedisPartitionScripts.PruneLimit"/> windows whose score is at or before the caller's
/// now (HDEL and ZREM), then gives both keys the expiry of the latest score (PEXPIRE, relative to the caller's now), or
/// deletes both when no window is left. Windows past their score that a call did not prune are neither loaded nor matched.
/// </description></item>
/// </list>
/// <para>
/// Failures, a call cancelled by its caller included, are counted (<c>read_failures</c> per load, <c>write_failures</c> per
/// window of a failed write) and thrown to the caller; each kind of call logs one Warning when it starts failing and one
/// Information when it works again (<see cref="RedisCallOutcomes"/>). Loads are rare (a partition loads once, when it
/// activates), so a write that succeeds ends an outage of loads too. A write that failed or was cancelled may still have
/// been applied.
/// </para>
/// </remarks>
internal sealed class RedisWindowPartitionStorage : IWindowPartitionStorage
{
    private const int ArgumentsPerWrite = 5;
    private const int ValuesPerResult = 3;
    private const int ValuesPerLoadedWindow = 3;

    private static readonly RedisValue Replace = "1";

    private readonly RateLimitRedisConnection _connection;
    private readonly RedisPartitionKeys _keys;
    private readonly TimeProvider _time;
    private readonly RateLimitGrainMetrics _metrics;
    private readonly ILogger _logger;
    private readonly RedisCallOutcomes _loads;
    private readonly RedisCallOutcomes _writes;

    /// <param name="connection">The Redis connection.</param>
    /// <param name="keys">Names each partition's keys.</param>
    /// <param name="time">The grains' clock: what "now" is when windows are pruned and keys given their expiry.</param>
    /// <param name="metrics">Counts failures and unreadable windows.</param>
    /// <param name="logger">Logs outages and unreadable windows.</param>
    public RedisWindowPartitionStorage(
        RateLimitRedisConnection connection,
        RedisPartitionKeys keys,
        TimeProvider time,
        RateLimitGrainMetrics metrics,
        ILogger<RedisWindowPartitionStorage> logger)
    {
        _connection = connection;
        _keys = keys;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _loads = new RedisCallOutcomes(RedisCallKind.Loads, time, logger);
        _writes = new RedisCallOutcomes(RedisCallKind.Writes, time, logger);
    }

    public async Task<IReadOnlyList<StoredWindow>> LoadAsync(WindowPartition partition, CancellationToken cancellationToken)
    {
        RedisResult[] reply;
        try
        {
            reply = await EvaluateAsync(RedisPartitionScripts.Load, partition, [Now()], cancellationToken).ConfigureAwait(false);
            if (reply.Length % ValuesPerLoadedWindow != 0)
            {
                throw new InvalidOperationException($"The window load script answered {reply.Length} values; it answers {ValuesPerLoadedWindow} per window.");
            }
        }
        catch (Exception exception)
        {
            _metrics.ReadFailed();
            _loads.Failed(partition, exception);
            throw;
        }

        _loads.Succeeded(RedisCallKind.Loads.OneCall);
        var windows = new List<StoredWindow>(reply.Length / ValuesPerLoadedWindow);
        var unreadable = new UnreadableWindows();
        for (var i = 0; i < reply.Length; i += ValuesPerLoadedWindow)
        {
            var id = (string)reply[i]!;
            if (StoredWindowFormat.TryParse((string?)reply[i + 1] ?? string.Empty, out var etag, out var buckets))
            {
                windows.Add(new StoredWindow(id, etag, buckets, ExpiryOf((string?)reply[i + 2])));
            }
            else
            {
                unreadable.Add(id);
            }
        }

        unreadable.Report(this, partition);
        return windows;
    }

    public async Task<IReadOnlyList<WindowWriteResult>> WriteAsync(
        WindowPartition partition, IReadOnlyList<WindowWrite> writes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        if (writes.Count == 0)
        {
            return [];
        }

        var arguments = WriteArguments(writes);
        RedisResult[] reply;
        try
        {
            reply = await EvaluateAsync(RedisPartitionScripts.Write, partition, arguments, cancellationToken).ConfigureAwait(false);
            if (reply.Length != writes.Count * ValuesPerResult)
            {
                throw new InvalidOperationException($"The window write script answered {reply.Length} values for {writes.Count} writes.");
            }
        }
        catch (Exception exception)
        {
            _metrics.WriteFailed(writes.Count);
            _writes.Failed(partition, exception);
            throw;
        }

        _writes.Succeeded(RedisCallKind.Writes.OneCall);
        _loads.Succeeded(RedisCallKind.Writes.OneCall);
        var results = new WindowWriteResult[writes.Count];
        var unreadable = new UnreadableWindows();
        for (var i = 0; i < results.Length; i++)
        {
            var written = (long)reply[i * ValuesPerResult] == 1;
            var etag = long.Parse((string)reply[(i * ValuesPerResult) + 1]!, NumberStyles.None, CultureInfo.InvariantCulture);
            WindowBucket[] stored = [];
            if (!written && !StoredWindowFormat.TryParseBuckets((string?)reply[(i * ValuesPerResult) + 2], out stored))
            {
                // The stored ETag is good, so the caller's next write, with that ETag, replaces what could not be read.
                unreadable.Add(writes[i].Id);
            }

            results[i] = new WindowWriteResult(written, etag, stored);
        }

        unreadable.Report(this, partition);
        return results;
    }

    private RedisValue Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A window's expiry from its score; a window without one is kept until it is claimed.</summary>
    private static DateTimeOffset ExpiryOf(string? score) =>
        double.TryParse(score, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds)
            && milliseconds is > 0 and < 253_402_300_799_999
            ? DateTimeOffset.FromUnixTimeMilliseconds((long)milliseconds)
            : DateTimeOffset.MaxValue;

    private RedisValue[] WriteArguments(IReadOnlyList<WindowWrite> writes)
    {
        var arguments = new RedisValue[1 + (writes.Count * ArgumentsPerWrite)];
        arguments[0] = Now();
        var scratch = new StringBuilder();
        for (var i = 0; i < writes.Count; i++)
        {
            var write = writes[i];
            if (string.IsNullOrEmpty(write.Id) || write.Id[0] == RedisPartitionScripts.ETagCounterField[0])
            {
                throw new ArgumentException($"Window id '{write.Id}' is empty or starts with '#', which the partition's ETag counter uses.", nameof(writes));
            }

            var at = 1 + (i * ArgumentsPerWrite);
            arguments[at] = write.Id;
            arguments[at + 1] = write.ExpectedETag;
            arguments[at + 2] = write.Replace ? Replace : RedisValue.EmptyString;
            arguments[at + 3] = write.ExpiresAt is { } expiresAt ? expiresAt.ToUnixTimeMilliseconds() : RedisValue.EmptyString;
            arguments[at + 4] = write.ExpiresAt is null ? RedisValue.EmptyString : StoredWindowFormat.FormatBuckets(write.Buckets, scratch);
        }

        return arguments;
    }

    private async Task<RedisResult[]> EvaluateAsync(
        string script, WindowPartition partition, RedisValue[] arguments, CancellationToken cancellationToken)
    {
        // StackExchange.Redis sends a script's body once per connection and its SHA1 (EVALSHA) after that, and sends the body
        // again when the server answers NOSCRIPT (after a restart or SCRIPT FLUSH). It has no per-command cancellation: the
        // wait is abandoned, the command still runs.
        var connection = await _connection.GetAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        var result = await connection.GetDatabase()
            .ScriptEvaluateAsync(script, [_keys.Windows(partition), _keys.Expiry(partition)], arguments)
            .WaitAsync(cancellationToken)
            .ConfigureAwait(false);
        return (RedisResult[]?)result ?? throw new InvalidOperationException("A window script answered nil.");
    }

    /// <summary>Counts unreadable windows of one call, to log them in one line.</summary>
    private struct UnreadableWindows
    {
        private int _count;
        private string? _first;

        public void Add(string id)
        {
            _count++;
            _first ??= id;
        }

        public readonly void Report(RedisWindowPartitionStorage storage, WindowPartition partition)
        {
            if (_count > 0)
            {
                storage._metrics.UnreadableSkipped(_count);
                RedisStorageLog.UnreadableWindowsSkipped(storage._logger, _count, partition, _first!);
            }
        }
    }
}
