namespace Orleans.RateLimit.Grains;

/// <summary>Options of the rate-limit grains: where their state lives and how often it is written.</summary>
public sealed class RateLimitGrainOptions
{
    /// <summary>The configuration section these options are usually bound from.</summary>
    public const string SectionName = "RateLimit:Grains";

    /// <summary>The name of the grain storage provider the rate-limit grains write to.</summary>
    public const string StorageProviderName = "OrleansRateLimit";

    /// <summary>
    /// A StackExchange.Redis connection string (<c>host:port[,password=…][,ssl=true]</c>). When set, window state is written
    /// behind to Redis; when not, it is kept in the cluster's memory (lost when the silo holding it stops). Either way a
    /// window's state is dropped <see cref="ExpiryGrace"/> after the window ends, whether or not its grain comes back.
    /// </summary>
    public string? RedisConnectionString { get; set; }

    /// <summary>Windows this long or shorter are never persisted: losing them costs at most one short window. Default 10 s.</summary>
    public TimeSpan PersistenceThreshold { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The shortest interval between two writes of one dirty window. Default 1 s.</summary>
    public TimeSpan MinFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest interval between two writes of one dirty window, and so the most counting a silo crash can lose. Default 30 s.
    /// Between the two bounds a window is written every twentieth of its period.
    /// </summary>
    public TimeSpan MaxFlushInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Added to a window's end when its storage entry is given an expiry, to absorb clock differences between silos. Default 2 s.</summary>
    public TimeSpan ExpiryGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a grain waits for storage. A read at activation that takes longer starts the window empty (merged with storage
    /// at its next write); a write that takes longer is retried at the next flush. Default 2 s.
    /// </summary>
    public TimeSpan StorageTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The flush interval of a window of length <paramref name="period"/>.</summary>
    public TimeSpan FlushIntervalFor(TimeSpan period)
    {
        var interval = period / 20;
        return interval < MinFlushInterval ? MinFlushInterval : interval > MaxFlushInterval ? MaxFlushInterval : interval;
    }

    /// <summary>Copies every option to <paramref name="target"/>.</summary>
    internal void CopyTo(RateLimitGrainOptions target)
    {
        target.RedisConnectionString = RedisConnectionString;
        target.PersistenceThreshold = PersistenceThreshold;
        target.MinFlushInterval = MinFlushInterval;
        target.MaxFlushInterval = MaxFlushInterval;
        target.ExpiryGrace = ExpiryGrace;
        target.StorageTimeout = StorageTimeout;
    }

    /// <summary>Every problem with these options, each naming the option; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        RequirePositive(errors, nameof(PersistenceThreshold), PersistenceThreshold);
        RequirePositive(errors, nameof(MinFlushInterval), MinFlushInterval);
        RequirePositive(errors, nameof(MaxFlushInterval), MaxFlushInterval);
        RequirePositive(errors, nameof(StorageTimeout), StorageTimeout);
        if (ExpiryGrace < TimeSpan.Zero)
        {
            errors.Add($"{nameof(RateLimitGrainOptions)}.{nameof(ExpiryGrace)} must not be negative, but is {ExpiryGrace}.");
        }

        if (MinFlushInterval > MaxFlushInterval)
        {
            errors.Add($"{nameof(RateLimitGrainOptions)}.{nameof(MinFlushInterval)} ({MinFlushInterval}) must not exceed {nameof(MaxFlushInterval)} ({MaxFlushInterval}).");
        }

        if (RedisConnectionString is { } redis && string.IsNullOrWhiteSpace(redis))
        {
            errors.Add($"{nameof(RateLimitGrainOptions)}.{nameof(RedisConnectionString)} is blank; leave it unset to keep state in memory.");
        }

        return errors;
    }

    private static void RequirePositive(List<string> errors, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(RateLimitGrainOptions)}.{name} must be positive, but is {value}.");
        }
    }
}
