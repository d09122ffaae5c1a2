namespace Orleans.RateLimit.Grains;

/// <summary>
/// What a partition has granted to which node, per leased window: the numbers that make a repeated request get its first
/// grant back, and the recent grants that size the next one.
/// </summary>
/// <remarks>
/// A grant is sized to last a node about <see cref="GrantSpan"/> at the rate it used its last one, and takes at most a
/// <see cref="ShareDivisor"/>th of what the window still allows, divided among the nodes holding a grant of it. So grants
/// shrink as the window fills, and when what remains is less than one unit per such share, nothing is granted and every
/// decision is the owner's, exact.
/// </remarks>
internal sealed class PartitionLeases
{
    /// <summary>The first grant to a node, before its rate is known.</summary>
    internal const long FirstGrant = 8;

    /// <summary>The most one grant holds, so that a node that goes quiet strands little.</summary>
    internal const long MaxGrant = 4_096;

    /// <summary>How many shares of what remains are kept per node holding a grant: at most this fraction is granted at once.</summary>
    internal const long ShareDivisor = 4;

    /// <summary>
    /// How long a grant should last its node at the rate it used the previous one. A node asks for more when half of its
    /// last grant is left, so at a steady rate each grant is asked for one span after the last: with 4 s, a node calls a
    /// hot window's owner every 4 s whatever its rate (up to <see cref="MaxGrant"/>), and what a node that goes quiet
    /// holds is at most about 6 s of its traffic, given back once it has idled.
    /// </summary>
    internal static readonly TimeSpan GrantSpan = TimeSpan.FromSeconds(4);

    private readonly Dictionary<WindowRef, List<Holder>> _windows = [];

    /// <summary>How many windows have grants outstanding; for tests and diagnostics.</summary>
    public int Count => _windows.Count;

    /// <summary>
    /// Grants <paramref name="holder"/> a budget of <paramref name="window"/> for its request <paramref name="sequence"/>: the
    /// same grant again when the request is repeated, nothing for a request older than the last one answered.
    /// </summary>
    public LeaseGrant Grant(Guid holder, WindowRef id, RateLimitWindow window, long sequence, DateTimeOffset now)
    {
        if (window is not ILeasableWindow leasable)
        {
            return default;
        }

        var holders = HoldersOf(id);
        var state = Find(holders, holder);
        if (state is not null && sequence <= state.Sequence)
        {
            return sequence == state.Sequence ? state.LastGrant : default;
        }

        if (state is null)
        {
            state = new Holder(holder);
            holders.Add(state);
        }

        var ticks = now.UtcTicks;
        var share = window.Stats(now).Remaining / (ShareDivisor * Active(holders, ticks, state));
        var taken = leasable.Grant(now, Math.Min(share, SizeFor(state, ticks)));
        state.Sequence = sequence;
        state.LastGrant = new LeaseGrant(taken.Units, sequence, taken.PeriodStartTicks, taken.PeriodEndTicks);
        state.LastGrantTicks = ticks;
        if (taken.Units > 0)
        {
            state.Granted(taken);
        }

        return state.LastGrant;
    }

    /// <summary>
    /// Takes back units <paramref name="holder"/> did not use, as many as it was granted in that period at most: a node
    /// gives back only what it holds. Once it has given back its current period's units it holds no grant of the window.
    /// </summary>
    public void Release(Guid holder, WindowRef id, RateLimitWindow window, long units, long periodStartTicks, DateTimeOffset now)
    {
        if (window is ILeasableWindow leasable
            && _windows.TryGetValue(id, out var holders)
            && Find(holders, holder) is { } state
            && state.TakeBack(units, periodStartTicks) is var returned and > 0)
        {
            leasable.Release(now, returned, periodStartTicks);
        }
    }

    /// <summary>Forgets the grants of a window that is no longer held.</summary>
    public void Forget(WindowRef id) => _windows.Remove(id);

    /// <summary>
    /// Forgets nodes whose grants' periods have ended. A node forgotten starts afresh: a request it repeats is answered as a
    /// new one, from what the window allows then.
    /// </summary>
    public void Sweep(DateTimeOffset now)
    {
        var ticks = now.UtcTicks;
        foreach (var (id, holders) in _windows)
        {
            holders.RemoveAll(h => h.PeriodEndTicks <= ticks && h.LastGrant.PeriodEndTicks <= ticks);
            if (holders.Count == 0)
            {
                _windows.Remove(id);
            }
        }
    }

    private List<Holder> HoldersOf(WindowRef id)
    {
        if (!_windows.TryGetValue(id, out var holders))
        {
            holders = new List<Holder>(2);
            _windows.Add(id, holders);
        }

        return holders;
    }

    private static Holder? Find(List<Holder> holders, Guid holder)
    {
        foreach (var state in holders)
        {
            if (state.Id == holder)
            {
                return state;
            }
        }

        return null;
    }

    /// <summary>The nodes holding a grant of the window now, counting the one asking.</summary>
    private static long Active(List<Holder> holders, long ticks, Holder asking)
    {
        long active = 0;
        foreach (var state in holders)
        {
            if (ReferenceEquals(state, asking) || state.PeriodEndTicks > ticks)
            {
                active++;
            }
        }

        return active;
    }

    /// <summary>About <see cref="GrantSpan"/> of use at the rate the node used its last grant.</summary>
    private static long SizeFor(Holder state, long ticks)
    {
        if (state.LastGrantTicks == 0 || state.LastGrant.Units == 0)
        {
            return FirstGrant;
        }

        var elapsed = Math.Max(1, ticks - state.LastGrantTicks);
        var rate = (double)state.LastGrant.Units / elapsed;
        return (long)Math.Clamp(rate * GrantSpan.Ticks, 1, MaxGrant);
    }

    private sealed class Holder(Guid id)
    {
        public Guid Id { get; } = id;

        public long Sequence { get; set; }

        public LeaseGrant LastGrant { get; set; }

        public long LastGrantTicks { get; set; }

        /// <summary>When the period of the node's outstanding grant ends; 0 when it holds none.</summary>
        public long PeriodEndTicks { get; private set; }

        // What the node was granted, and has not given back, in the period of its latest grant and in the one before it
        // (a sliding-window counter's units still weigh on the next period, and may come back then).
        private (long Start, long Units) _current;
        private (long Start, long Units) _previous;

        public void Granted(WindowGrant grant)
        {
            if (grant.PeriodStartTicks != _current.Start)
            {
                _previous = _current;
                _current = (grant.PeriodStartTicks, 0);
            }

            _current.Units += grant.Units;
            PeriodEndTicks = grant.PeriodEndTicks;
        }

        /// <summary>Takes back up to <paramref name="units"/> of a period's grants.</summary>
        /// <returns>How many it took back.</returns>
        public long TakeBack(long units, long periodStartTicks)
        {
            long returned;
            if (periodStartTicks == _current.Start)
            {
                // A node gives back its current period's units only as it drops its budget: it holds none afterwards.
                returned = Math.Clamp(units, 0, _current.Units);
                _current.Units -= returned;
                PeriodEndTicks = 0;
            }
            else if (periodStartTicks == _previous.Start)
            {
                returned = Math.Clamp(units, 0, _previous.Units);
                _previous.Units -= returned;
            }
            else
            {
                returned = 0;
            }

            return returned;
        }
    }
}
