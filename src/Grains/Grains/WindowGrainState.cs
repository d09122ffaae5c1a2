namespace Orleans.RateLimit.Grains;

/// <summary>The persisted form of a window: its buckets as two parallel arrays, and when the whole state expires.</summary>
[GenerateSerializer, Alias("orl.WindowGrainState")]
internal sealed class WindowGrainState : IExpiringGrainState
{
    [Id(0)]
    public long[] Starts { get; set; } = [];

    [Id(1)]
    public long[] Counts { get; set; } = [];

    [Id(2)]
    public DateTimeOffset? ExpiresAt { get; set; }

    public static WindowGrainState From(IReadOnlyList<WindowBucket> buckets, DateTimeOffset? expiresAt)
    {
        var state = new WindowGrainState { Starts = new long[buckets.Count], Counts = new long[buckets.Count], ExpiresAt = expiresAt };
        for (var i = 0; i < buckets.Count; i++)
        {
            state.Starts[i] = buckets[i].StartTicks;
            state.Counts[i] = buckets[i].Count;
        }

        return state;
    }

    public IReadOnlyList<WindowBucket> ToBuckets()
    {
        var length = Math.Min(Starts?.Length ?? 0, Counts?.Length ?? 0);
        var buckets = new WindowBucket[length];
        for (var i = 0; i < length; i++)
        {
            buckets[i] = new WindowBucket(Starts![i], Counts![i]);
        }

        return buckets;
    }
}
