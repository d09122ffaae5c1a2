using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// This node's budget of one window: units granted by the window's owner and not used yet, for the period they belong to.
/// Every member is read and written under the lease's lock.
/// </summary>
internal sealed class WindowLease(WindowCheck origin)
{
    /// <summary>The check that first asked for the lease, to ask for refills and to give units back.</summary>
    public WindowCheck Origin { get; } = origin with { Operation = WindowOperation.Lease, Cost = 0, StopIfRefused = false, StopIfAnyRefused = false };

    /// <summary>Units this node may still admit on its own.</summary>
    public long Left { get; set; }

    /// <summary>How many units the last grant brought; a refill is asked for when fewer than half of them are left.</summary>
    public long LastGrant { get; set; }

    public long PeriodStartTicks { get; set; }

    public long PeriodEndTicks { get; set; }

    /// <summary>What the owner had left after its last grant to this node.</summary>
    public long OwnerRemaining { get; set; }

    public DateTimeOffset ResetAt { get; set; }

    /// <summary>When the owner's count was last heard with a grant (UTC ticks); 0 before any.</summary>
    public long OwnerSeenTicks { get; private set; }

    public long LastUsedTicks { get; set; }

    /// <summary>A refill asked for and not answered yet, so that no second one is asked for meanwhile.</summary>
    public bool Refilling { get; set; }

    /// <summary>
    /// The number of a grant asked for whose answer never came (the call timed out): the next request repeats it, and the
    /// owner answers with the grant it made then, if it made one.
    /// </summary>
    public long UnansweredSequence { get; set; }

    /// <summary>Set when the lease has been dropped from the store; a caller holding it asks its owner instead.</summary>
    public bool Removed { get; set; }

    /// <summary>Whether <paramref name="cost"/> can be admitted from the lease at <paramref name="ticks"/>.</summary>
    public bool Covers(long ticks, int cost) => !Removed && ticks < PeriodEndTicks && Left >= cost;

    /// <summary>This node's view of the window: what the owner had left at the last grant, plus what the lease still holds.</summary>
    public WindowDecision View() => new(true, new WindowStats(OwnerRemaining + Left, ResetAt));

    // The numbers of the latest grants taken. Only a number asked again while unanswered can be answered twice, and no more
    // requests than callers run at once; answers to different numbers may arrive in any order and are all taken.
    private readonly long[] _taken = new long[16];
    private int _nextTaken;
    private long _ownerVersion = long.MinValue;

    /// <summary>The number to ask for a grant under: the unanswered one again, if there is one.</summary>
    public long AskSequence(Func<long> next)
    {
        if (UnansweredSequence == 0)
        {
            UnansweredSequence = next();
        }

        return UnansweredSequence;
    }

    /// <summary>
    /// Takes an owner's answer to a request for a grant: its units, in place of whatever is left of an earlier period's,
    /// and what the owner has left. A grant already taken (the answer to a request asked again), or for a period that has
    /// ended, brings no units.
    /// </summary>
    /// <param name="askedSequence">The number the grant was asked for under: that request has its answer.</param>
    /// <param name="grant">The grant.</param>
    /// <param name="ownerStats">The window at the owner after the grant.</param>
    /// <param name="ticks">Now.</param>
    /// <param name="unused">What was left of an earlier period, to give back to the owner.</param>
    /// <returns>Whether the grant's units were taken.</returns>
    public bool Take(long askedSequence, in LeaseGrant grant, in WindowStats ownerStats, long ticks, out UnusedUnits unused)
    {
        unused = default;
        if (askedSequence == UnansweredSequence)
        {
            UnansweredSequence = 0;
        }

        if (grant.Sequence != askedSequence || grant.PeriodEndTicks <= ticks)
        {
            return false;
        }

        var fresh = !grant.IsEmpty && Array.IndexOf(_taken, grant.Sequence) < 0;
        if (grant.PeriodStartTicks != PeriodStartTicks)
        {
            if (!fresh)
            {
                return false;
            }

            // A fixed window's units die with their period; a sliding-window counter's still weigh on the next one.
            if (Origin.Window.Strategy == RateLimitStrategy.SlidingWindowCounter)
            {
                unused = new UnusedUnits(this, Left, PeriodStartTicks);
            }

            Left = 0;
            PeriodStartTicks = grant.PeriodStartTicks;
            PeriodEndTicks = grant.PeriodEndTicks;
            _ownerVersion = long.MinValue;
        }

        if (grant.WindowVersion >= _ownerVersion)
        {
            _ownerVersion = grant.WindowVersion;
            OwnerRemaining = ownerStats.Remaining;
            ResetAt = ownerStats.ResetAt;
            OwnerSeenTicks = ticks;
        }

        if (!fresh)
        {
            return false;
        }

        _taken[_nextTaken] = grant.Sequence;
        _nextTaken = (_nextTaken + 1) % _taken.Length;
        Left += grant.Units;
        LastGrant = grant.Units;
        LastUsedTicks = ticks;
        return true;
    }

    /// <summary>The owner's count as of the last grant: what it had left, with this node's unspent units still counted as spent.</summary>
    public SeenWindow OwnerView() => new(new WindowStats(OwnerRemaining, ResetAt), OwnerSeenTicks);

    /// <summary>Whether the lease holds the period <paramref name="grant"/> names.</summary>
    public bool Holds(in LeaseGrant grant) => !Removed && grant.PeriodStartTicks == PeriodStartTicks && grant.PeriodEndTicks == PeriodEndTicks;

    /// <summary>Takes everything left, for giving it back: the lease holds nothing afterwards.</summary>
    public UnusedUnits TakeUnused()
    {
        var unused = new UnusedUnits(this, Left, PeriodStartTicks);
        Left = 0;
        return unused;
    }
}

/// <summary>Units of a lease that were not used, and the period they were granted in.</summary>
internal readonly record struct UnusedUnits(WindowLease? Lease, long Units, long PeriodStartTicks);
