namespace Orleans.RateLimit.Silo;

/// <summary>
/// The Lua scripts of <see cref="RedisWindowPartitionStorage"/>. Each runs atomically on the partition's two keys
/// (<c>KEYS[1]</c> the hash of windows, <c>KEYS[2]</c> the sorted set of expiries) with <c>ARGV[1]</c> the caller's now in
/// Unix milliseconds.
/// </summary>
/// <remarks>
/// Both scripts first forget up to <see cref="PruneLimit"/> windows whose expiry is at or before now, so one call never
/// blocks Redis for long, and last give both keys the expiry of their latest window (relative to the caller's now, so it is
/// right even when the caller's clock is not the server's), or delete both when no window is left: an idle partition leaves
/// nothing behind. Numbers the scripts hand back or store stay strings: Lua numbers are doubles and print in exponent form.
/// </remarks>
internal static class RedisPartitionScripts
{
    /// <summary>The most expired windows one call forgets.</summary>
    public const int PruneLimit = 1_000;

    /// <summary>The hash field of the partition's ETag counter; window ids start with a strategy name, never with <c>#</c>.</summary>
    public const string ETagCounterField = "#etag";

    private static readonly string Prune = $$"""
        local now = tonumber(ARGV[1])
        local expired = redis.call('ZRANGE', KEYS[2], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, {{PruneLimit}})
        if #expired > 0 then
          redis.call('HDEL', KEYS[1], unpack(expired))
          redis.call('ZREM', KEYS[2], unpack(expired))
        end

        """;

    private static readonly string ExpireKeys = """

        local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
        if #latest == 0 then
          redis.call('DEL', KEYS[1], KEYS[2])
        else
          local ttl = tonumber(latest[2]) - now
          if ttl < 1 then ttl = 1 end
          ttl = string.format('%d', ttl)
          redis.call('PEXPIRE', KEYS[1], ttl)
          redis.call('PEXPIRE', KEYS[2], ttl)
        end
        """;

    /// <summary>
    /// Returns every live window as a flat list of id, value, expiry (Unix milliseconds, as stored). Windows past their
    /// expiry that the prune left for later calls are left out.
    /// </summary>
    public static readonly string Load = Prune + $$"""
        local all = redis.call('HGETALL', KEYS[1])
        local windows = {}
        for i = 1, #all, 2 do
          local id = all[i]
          if id ~= '{{ETagCounterField}}' then
            local score = redis.call('ZSCORE', KEYS[2], id)
            if not (score and tonumber(score) <= now) then
              windows[#windows + 1] = id
              windows[#windows + 1] = all[i + 1]
              windows[#windows + 1] = score or ''
            end
          end
        end
        """ + ExpireKeys + """

        return windows
        """;

    /// <summary>
    /// Applies writes given as five arguments each from <c>ARGV[2]</c> on: id, expected ETag, <c>1</c> to replace (or empty),
    /// expiry in Unix milliseconds (empty deletes), buckets text. Returns three values per write, in order: 1 when written
    /// (0 on a conflict), the ETag now stored (<c>0</c> for none), and on a conflict the stored buckets text.
    /// </summary>
    /// <remarks>
    /// A window past its expiry but not yet pruned, or whose value does not start with an ETag, counts as absent (ETag 0), so
    /// a writer that expects nothing replaces it. A new ETag is drawn from the counter field, incremented per written window;
    /// when the counter is created (the partition is new, or vanished when its last window went) it starts at the server's
    /// time in microseconds, above any ETag the partition handed out before, so an ETag never comes back.
    /// </remarks>
    public static readonly string Write = Prune + $$"""
        local counterReady = false
        local function nextETag()
          if not counterReady then
            if redis.call('HEXISTS', KEYS[1], '{{ETagCounterField}}') == 0 then
              local time = redis.call('TIME')
              redis.call('HSET', KEYS[1], '{{ETagCounterField}}', time[1] .. string.format('%06d', tonumber(time[2])))
            end
            counterReady = true
          end
          return string.format('%d', redis.call('HINCRBY', KEYS[1], '{{ETagCounterField}}', 1))
        end

        local results = {}
        for i = 2, #ARGV, 5 do
          local id = ARGV[i]
          local storedETag, storedBuckets = '0', ''
          local stored = redis.call('HGET', KEYS[1], id)
          if stored then
            local score = redis.call('ZSCORE', KEYS[2], id)
            if not (score and tonumber(score) <= now) then
              local etag, buckets = string.match(stored, '^([1-9]%d*)|(.*)$')
              if etag then
                storedETag, storedBuckets = etag, buckets
              end
            end
          end

          local n = #results
          if ARGV[i + 2] ~= '1' and storedETag ~= ARGV[i + 1] then
            results[n + 1], results[n + 2], results[n + 3] = 0, storedETag, storedBuckets
          elseif ARGV[i + 3] == '' then
            redis.call('HDEL', KEYS[1], id)
            redis.call('ZREM', KEYS[2], id)
            results[n + 1], results[n + 2], results[n + 3] = 1, '0', ''
          else
            local etag = nextETag()
            redis.call('HSET', KEYS[1], id, etag .. '|' .. ARGV[i + 4])
            redis.call('ZADD', KEYS[2], ARGV[i + 3], id)
            results[n + 1], results[n + 2], results[n + 3] = 1, etag, ''
          end
        end
        """ + ExpireKeys + """

        return results
        """;
}
