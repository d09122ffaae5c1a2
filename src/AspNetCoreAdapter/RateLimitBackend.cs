namespace Orleans.RateLimit.AspNetCore;

/// <summary>Where the windows are counted.</summary>
public enum RateLimitBackend
{
    /// <summary>In the Orleans partition grains that own the windows, through the <c>IGrainFactory</c> of a co-hosted silo or of an <c>IClusterClient</c>.</summary>
    Orleans,

    /// <summary>In this process only: for development, tests and single-node apps. Each node counts on its own.</summary>
    Memory,
}
