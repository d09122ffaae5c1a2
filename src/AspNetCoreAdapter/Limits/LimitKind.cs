namespace Orleans.RateLimit.AspNetCore;

/// <summary>Where a limit comes from; decides its scope and the order it is evaluated in.</summary>
internal enum LimitKind
{
    Application,
    Default,
    Route,
    Meta,

    /// <summary>An in-memory fallback limit: counted in this process only, while the cluster can't be reached.</summary>
    Fallback,
}
