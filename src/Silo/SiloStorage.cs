namespace Orleans.RateLimit.Silo;

/// <summary>Where a standalone rate-limit cluster keeps window state.</summary>
public enum SiloStorage
{
    /// <summary>In the cluster's memory; lost when the silo that holds a window stops.</summary>
    Memory = 0,

    /// <summary>Written behind to Redis; survives silo and cluster restarts.</summary>
    Redis = 1,
}
