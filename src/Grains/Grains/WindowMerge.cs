namespace Orleans.RateLimit.Grains;

/// <summary>
/// Adds what one copy of a window counted since it last agreed with storage to what storage holds now, so that two
/// activations of one window (possible for a moment during cluster churn) never lose each other's hits.
/// </summary>
internal static class WindowMerge
{
    /// <summary><c>stored + max(0, local − baseline)</c>, bucket by bucket; the window's <c>Restore</c> folds the result.</summary>
    public static List<WindowBucket> Merge(
        IReadOnlyList<WindowBucket> stored, IReadOnlyList<WindowBucket> local, IReadOnlyList<WindowBucket> baseline)
    {
        var known = new Dictionary<long, long>(baseline.Count);
        foreach (var bucket in baseline)
        {
            known[bucket.StartTicks] = known.GetValueOrDefault(bucket.StartTicks) + bucket.Count;
        }

        var merged = new List<WindowBucket>(stored.Count + local.Count);
        merged.AddRange(stored);
        foreach (var bucket in local)
        {
            var added = bucket.Count - known.GetValueOrDefault(bucket.StartTicks);
            if (added > 0)
            {
                merged.Add(bucket with { Count = added });
            }
            else if (bucket.Count == 0)
            {
                // An empty bucket still carries a sliding counter's anchor.
                merged.Add(bucket);
            }
        }

        return merged;
    }
}
