namespace Orleans.RateLimit;

/// <summary>What is left of a window at one moment.</summary>
/// <param name="Remaining">Units of cost that may still be spent now.</param>
/// <param name="ResetAt">
/// For a fixed window, when it resets; for a moving window, when its oldest hit ages out; for a sliding-window counter,
/// an estimate of when the next unit frees up. The current time when nothing is counted (fixed window, sliding counter).
/// </param>
public readonly record struct WindowStats(long Remaining, DateTimeOffset ResetAt);
