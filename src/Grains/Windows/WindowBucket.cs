namespace Orleans.RateLimit;

/// <summary>
/// A count of hits attributed to one instant: the start of a fixed window, the start of a sliding-counter period, or the
/// time of a run of hits in a moving window. Every strategy saves and restores its state as a list of buckets, which is what
/// persistence stores and what merging two copies of a window adds up.
/// </summary>
/// <param name="StartTicks">UTC ticks of the instant.</param>
/// <param name="Count">Units of cost counted at that instant.</param>
public readonly record struct WindowBucket(long StartTicks, long Count);
