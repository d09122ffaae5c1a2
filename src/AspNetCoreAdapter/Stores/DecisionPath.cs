namespace Orleans.RateLimit.AspNetCore;

/// <summary>What decided a window check: the order of the values is their precedence when a request's checks took several paths.</summary>
internal enum DecisionPath
{
    /// <summary>The in-process store of the memory backend.</summary>
    Memory = 0,

    /// <summary>This node's leased budget for the window, without a call.</summary>
    Leased = 1,

    /// <summary>A call to the window's owner.</summary>
    OwnerCall = 2,

    /// <summary>The window's failure mode, because the owner could not be reached in time.</summary>
    Fallback = 3,
}
