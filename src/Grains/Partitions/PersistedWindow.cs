namespace Orleans.RateLimit.Grains;

/// <summary>What a partition knows about one persisted window's record in storage.</summary>
internal sealed class PersistedWindow(string storageId)
{
    public const long Clean = long.MaxValue;

    /// <summary>The window's id in storage (<see cref="RateLimitWindowKey.ToStorageKey"/>), built once per window.</summary>
    public string StorageId { get; } = storageId;

    /// <summary>The ETag of the record as last read or written; 0 when storage holds none, as far as is known.</summary>
    public long ETag { get; set; }

    /// <summary>The counts storage holds, as last read or written: merging adds only what was counted since.</summary>
    public IReadOnlyList<WindowBucket> Baseline { get; set; } = [];

    /// <summary>The window version storage holds.</summary>
    public long PersistedVersion { get; set; }

    /// <summary>UTC ticks since which the window has changes storage lacks; <see cref="Clean"/> when it has none.</summary>
    public long DirtySinceTicks { get; set; } = Clean;

    /// <summary>The window was cleared: its next write replaces the record, whatever storage holds.</summary>
    public bool Replace { get; set; }
}
