namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Whether a node decides a limit's window from a budget leased from the window's owner, without a call per request. Only
/// fixed windows and sliding-window counters lease; a moving window is always decided by its owner, one exact decision per
/// call, and meta limits are never leased.
/// </summary>
public enum RateLimitLeasing
{
    /// <summary>A window is leased once this node decides it often (4 times within a second), and no sooner.</summary>
    Auto,

    /// <summary>Every window of the limit is leased from its first decision on this node.</summary>
    Always,

    /// <summary>Every decision of the limit is its owner's.</summary>
    Never,
}
