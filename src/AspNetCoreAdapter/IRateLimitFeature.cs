namespace Orleans.RateLimit.AspNetCore;

/// <summary>The limits of the current request, set on <c>HttpContext.Features</c> by the rate-limit middleware.</summary>
public interface IRateLimitFeature
{
    /// <summary>
    /// The limit the headers describe: the last breached limit if any was breached, otherwise the first non-shared limit in
    /// evaluation order, otherwise the first one; <see langword="null"/> when no limit applied.
    /// </summary>
    RequestLimit? CurrentLimit { get; }

    /// <summary>The limits evaluated in the latest evaluation for this request, shortest granularity first.</summary>
    IReadOnlyList<RequestLimit> CurrentLimits { get; }
}
