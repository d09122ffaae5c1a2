using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// The last state of each window this node heard from its owner, kept so that a window that falls back to memory starts
/// from what its owner had counted, not from zero.
/// </summary>
/// <remarks>
/// A fixed table of slots chosen by the window's hash, no keys held: a flood of new clients costs no memory, and a slot
/// another window took since is only a miss (the fallback then starts that window from zero, as without the table). A slot
/// is written without a lock; a reader that finds it changed while reading treats it as a miss.
/// </remarks>
internal sealed class LastSeenCounts
{
    private const int Slots = 1 << 16;

    private readonly Slot[] _slots = new Slot[Slots];

    /// <summary>Remembers what the owner said of <paramref name="window"/> at <paramref name="now"/>: what remained and when it resets.</summary>
    public void Saw(in WindowRef window, in WindowStats stats, DateTimeOffset now)
    {
        var hash = window.GetHashCode();
        ref var slot = ref _slots[hash & (Slots - 1)];

        // The tag is cleared while the fields change, so that a reader never takes one window's tag with another's counts.
        Volatile.Write(ref slot.Tag, 0);
        slot.Remaining = stats.Remaining;
        slot.ResetTicks = stats.ResetAt.UtcTicks;
        slot.SeenTicks = now.UtcTicks;
        Volatile.Write(ref slot.Tag, Tag(hash));
    }

    /// <summary>What the owner last said of <paramref name="window"/>, if this node remembers it.</summary>
    public bool TryFind(in WindowRef window, out SeenWindow seen)
    {
        var hash = window.GetHashCode();
        ref var slot = ref _slots[hash & (Slots - 1)];
        var tag = Volatile.Read(ref slot.Tag);
        var remaining = slot.Remaining;
        var reset = slot.ResetTicks;
        var seenTicks = slot.SeenTicks;
        Interlocked.MemoryBarrier();
        if (tag != Tag(hash) || Volatile.Read(ref slot.Tag) != tag)
        {
            seen = default;
            return false;
        }

        seen = new SeenWindow(new WindowStats(remaining, new DateTimeOffset(reset, TimeSpan.Zero)), seenTicks);
        return true;
    }

    // Never 0, which marks a slot being written or never written.
    private static long Tag(int hash) => ((long)hash << 1) | 1;

    private struct Slot
    {
        public long Tag;
        public long Remaining;
        public long ResetTicks;
        public long SeenTicks;
    }
}

/// <summary>A window as its owner described it, and when (UTC ticks).</summary>
internal readonly record struct SeenWindow(WindowStats Stats, long SeenTicks)
{
    /// <summary>Nothing heard of the window.</summary>
    public static SeenWindow Nothing => default;

    public bool IsNothing => SeenTicks == 0;
}
