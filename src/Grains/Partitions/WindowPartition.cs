using System.Globalization;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// One of <see cref="Count"/> partitions that windows are spread over; the integer key of its
/// <see cref="IWindowPartitionGrain"/> carries both numbers, so nodes configured with different counts never share an owner.
/// </summary>
/// <param name="Index">The partition, 0 to <see cref="Count"/> − 1.</param>
/// <param name="Count">How many partitions there are.</param>
public readonly record struct WindowPartition(int Index, int Count)
{
    /// <summary>How many partitions a cluster has unless configured otherwise.</summary>
    public const int DefaultCount = 256;

    /// <summary>The most partitions a cluster may have.</summary>
    public const int MaxCount = 65_536;

    /// <summary>The integer key of this partition's grain: the count in the high 32 bits, the index in the low.</summary>
    public long GrainKey => ((long)Count << 32) | (uint)Index;

    /// <summary>The partition a grain key names.</summary>
    /// <exception cref="FormatException">The key was not made by <see cref="GrainKey"/>.</exception>
    public static WindowPartition FromGrainKey(long grainKey)
    {
        var count = (int)(grainKey >> 32);
        var index = (int)(grainKey & uint.MaxValue);
        if (count is < 1 or > MaxCount || index < 0 || index >= count)
        {
            throw new FormatException($"The window partition key {grainKey.ToString(CultureInfo.InvariantCulture)} names no partition.");
        }

        return new WindowPartition(index, count);
    }

    /// <summary>The partition, of <paramref name="count"/>, that owns every window counted for <paramref name="key"/>.</summary>
    public static WindowPartition Of(string key, int count) => new(IndexOf(key, count), count);

    /// <summary>The index of the partition that owns every window counted for <paramref name="key"/>.</summary>
    /// <remarks>
    /// Only the client key is hashed, not the limit or scope: every window of one client (its application, default, route and
    /// meta limits) has the same owner, so one request's windows travel in one call and are decided in order, exactly as
    /// fail-on-first-breach requires. The hash is FNV-1a over the key's UTF-16 code units with a 64-bit finaliser: stable
    /// across processes and .NET versions, unlike <see cref="string.GetHashCode()"/>.
    /// </remarks>
    public static int IndexOf(string key, int count)
    {
        ArgumentNullException.ThrowIfNull(key);
        var hash = 14695981039346656037UL;
        foreach (var c in key)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        hash ^= hash >> 33;
        hash *= 0xff51afd7ed558ccdUL;
        hash ^= hash >> 33;
        return (int)(hash % (uint)count);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
