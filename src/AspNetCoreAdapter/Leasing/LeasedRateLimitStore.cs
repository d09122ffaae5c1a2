using System.Collections.Concurrent;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Decides hot windows on this node from budgets leased from their owners, and passes everything else to the store it
/// decorates (the grain store). A check is decided here when this node holds enough of its window's current period;
/// otherwise its owner decides it, and a hot window's check asks the owner for a budget with the decision.
/// </summary>
/// <remarks>
/// <para>
/// Checks are decided in order, as the original does. Consecutive checks that can't be decided here go to their owners
/// together; the checks after them are decided here again if they can be. A budget is only ever spent by a check that is
/// allowed, so leasing never refuses what the owner would have allowed, and the owner never grants more than its window
/// still allows, so leasing never admits more than the limit.
/// </para>
/// <para>
/// A budget is refilled in the background once less than half of the last grant is left; whatever a node did not use goes
/// back to the owner when the node has not used it for <see cref="IdleAfter"/>, or, for a sliding-window counter, when its
/// period ends (the previous period still weighs on the next).
/// </para>
/// </remarks>
internal sealed partial class LeasedRateLimitStore : IRateLimitStore, IDisposable
{
    /// <summary>Decisions of one window within one second that make this node ask for a budget (<see cref="RateLimitLeasing.Auto"/>).</summary>
    internal const int HotDecisionsPerSecond = 4;

    /// <summary>How long a budget may go unused before it goes back to its owner.</summary>
    internal static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(2);

    /// <summary>How often budgets are checked for idleness and ended periods.</summary>
    internal static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly IRateLimitStore _owners;
    private readonly ConcurrentDictionary<WindowRef, WindowLease> _leases = new();
    private readonly WindowHeat _heat = new();
    private readonly TimeProvider _time;
    private readonly RateLimitMetrics _metrics;
    private readonly RateLimitLeasing _defaultLeasing;
    private readonly ITimer _sweepTimer;
    private readonly LastSeenCounts _lastSeen;
    private readonly Func<long> _nextSequence;
    private long _sequence;

    public LeasedRateLimitStore(IRateLimitStore owners, RateLimitLeasing defaultLeasing, LastSeenCounts lastSeen, TimeProvider time, RateLimitMetrics metrics)
    {
        _owners = owners;
        _lastSeen = lastSeen;
        _defaultLeasing = defaultLeasing;
        _time = time;
        _metrics = metrics;
        _nextSequence = NextSequence;
        _sweepTimer = WeakSweepTimer.Start(time, this, SweepInterval, static store => store.Sweep());
    }

    /// <summary>How many windows this node holds budgets of; for tests and diagnostics.</summary>
    public int Count => _leases.Count;

    public ValueTask<int> DecideAsync(ReadOnlyMemory<WindowCheck> checks, Memory<StoreOutcome> outcomes)
    {
        var ticks = _time.GetUtcNow().UtcTicks;
        var anyRefused = false;
        var (decided, ended) = DecideHere(checks.Span, outcomes.Span, 0, ticks, ref anyRefused);
        return ended || decided == checks.Length
            ? new ValueTask<int>(decided)
            : DecideWithOwnersAsync(checks, outcomes, decided, anyRefused, ticks);
    }

    public void RecordBreach(RateLimitWindowKey metaWindow) => _owners.RecordBreach(metaWindow);

    /// <summary>
    /// Decides a check from this node's budget of its window if the budget covers it, asking nothing of the owner, not
    /// even a refill: while the cluster can't be reached a node spends what it holds and no more.
    /// </summary>
    public bool TryDecideAlone(in WindowCheck check, out StoreOutcome outcome)
    {
        List<WindowLease>? noRefills = null;
        return TryDecideHere(check, _time.GetUtcNow().UtcTicks, out outcome, ref noRefills, mayRefill: false);
    }

    /// <summary>What the owner of a window this node holds a budget of had left at the last grant, and when that was.</summary>
    public bool TryOwnerView(in WindowRef id, out SeenWindow seen)
    {
        seen = SeenWindow.Nothing;
        if (!_leases.TryGetValue(id, out var lease))
        {
            return false;
        }

        lock (lease)
        {
            if (lease.Removed || lease.OwnerSeenTicks == 0)
            {
                return false;
            }

            seen = lease.OwnerView();
            return true;
        }
    }

    public void Dispose() => _sweepTimer.Dispose();

    /// <summary>
    /// Decides checks here from <paramref name="start"/> on, as long as budgets cover them, and starts the refills they
    /// make due.
    /// </summary>
    /// <returns>How far the checks were decided, and whether the last one decided ended the request's checks.</returns>
    private (int Decided, bool Ended) DecideHere(
        ReadOnlySpan<WindowCheck> checks, Span<StoreOutcome> outcomes, int start, long ticks, ref bool anyRefused)
    {
        List<WindowLease>? refills = null;
        var i = start;
        var ended = false;
        for (; i < checks.Length && TryDecideHere(checks[i], ticks, out outcomes[i], ref refills, mayRefill: true); i++)
        {
            if (outcomes[i].EndsChecks(checks[i], ref anyRefused))
            {
                ended = true;
                i++;
                break;
            }
        }

        if (refills is not null)
        {
            RefillWithOthers(checks[start..i], refills);
            _ = RefillAsync(refills);
        }

        return (i, ended);
    }

    private async ValueTask<int> DecideWithOwnersAsync(
        ReadOnlyMemory<WindowCheck> checks, Memory<StoreOutcome> outcomes, int start, bool anyRefused, long ticks)
    {
        var i = start;
        while (i < checks.Length)
        {
            var end = i + 1;
            while (end < checks.Length && !CouldDecideHere(checks.Span[end], ticks))
            {
                end++;
            }

            var run = WithLeaseRequests(checks[i..end], ticks);
            var decided = await _owners.DecideAsync(run, outcomes[i..end]).ConfigureAwait(false);
            ticks = _time.GetUtcNow().UtcTicks;
            for (var k = 0; k < decided; k++)
            {
                var check = run.Span[k];
                ref var outcome = ref outcomes.Span[i + k];
                if (check.LeaseSequence > 0)
                {
                    TakeGrant(check, ref outcome, ticks);
                }

                if (outcome.EndsChecks(check, ref anyRefused))
                {
                    return i + k + 1;
                }
            }

            if (decided < run.Length)
            {
                return i + decided;
            }

            var (here, ended) = DecideHere(checks.Span, outcomes.Span, end, ticks, ref anyRefused);
            if (ended)
            {
                return here;
            }

            i = here;
        }

        return checks.Length;
    }

    private bool TryDecideHere(in WindowCheck check, long ticks, out StoreOutcome outcome, ref List<WindowLease>? refills, bool mayRefill)
    {
        outcome = default;
        if (check.Operation is not (WindowOperation.Hit or WindowOperation.Test or WindowOperation.Stats)
            || !_leases.TryGetValue(new WindowRef(check.Window), out var lease))
        {
            return false;
        }

        lock (lease)
        {
            if (!lease.Covers(ticks, check.Operation == WindowOperation.Stats ? 0 : check.Cost))
            {
                return false;
            }

            if (check.Operation == WindowOperation.Hit)
            {
                lease.Left -= check.Cost;
                lease.LastUsedTicks = ticks;
                if (mayRefill && !lease.Refilling && lease.Left * 2 < lease.LastGrant)
                {
                    lease.Refilling = true;
                    (refills ??= []).Add(lease);
                }
            }

            outcome = StoreOutcome.Decided(lease.View(), DecisionPath.Leased);
            return true;
        }
    }

    /// <summary>
    /// Adds the request's other budgets that are past a quarter used to a refill: a client's windows are used at the same
    /// pace and share an owner, so they are refilled in one call instead of one call each, a moment apart.
    /// </summary>
    private void RefillWithOthers(ReadOnlySpan<WindowCheck> decidedHere, List<WindowLease> refills)
    {
        foreach (var check in decidedHere)
        {
            if (check.Operation != WindowOperation.Hit || !_leases.TryGetValue(new WindowRef(check.Window), out var lease))
            {
                continue;
            }

            lock (lease)
            {
                if (!lease.Refilling && !lease.Removed && lease.Left * 4 < lease.LastGrant * 3)
                {
                    lease.Refilling = true;
                    refills.Add(lease);
                }
            }
        }
    }

    private bool CouldDecideHere(in WindowCheck check, long ticks)
    {
        if (!_leases.TryGetValue(new WindowRef(check.Window), out var lease))
        {
            return false;
        }

        lock (lease)
        {
            return lease.Covers(ticks, check.Operation == WindowOperation.Stats ? 0 : check.Cost);
        }
    }

    /// <summary>
    /// The checks, with a request for a budget on each hit of a hot leasable window; the same memory when none asks.
    /// </summary>
    private ReadOnlyMemory<WindowCheck> WithLeaseRequests(ReadOnlyMemory<WindowCheck> run, long ticks)
    {
        WindowCheck[]? asking = null;
        for (var k = 0; k < run.Length; k++)
        {
            var check = run.Span[k];
            if (check.Operation != WindowOperation.Hit || !Leases(check))
            {
                continue;
            }

            var id = new WindowRef(check.Window);
            long sequence;
            if (_leases.TryGetValue(id, out var lease))
            {
                lock (lease)
                {
                    sequence = lease.AskSequence(_nextSequence);
                }
            }
            else if (LeasingOf(check.Definition) == RateLimitLeasing.Always || _heat.Count(id.GetHashCode(), ticks) >= HotDecisionsPerSecond)
            {
                sequence = NextSequence();
            }
            else
            {
                continue;
            }

            asking ??= run.ToArray();
            asking[k] = check with { LeaseSequence = sequence };
        }

        return asking ?? run;
    }

    /// <summary>Keeps the budget an owner granted with a decision, and shows the decision as this node now sees the window.</summary>
    private void TakeGrant(in WindowCheck check, ref StoreOutcome outcome, long ticks)
    {
        // Unanswered, the request's number stays on the lease (if there is one), to be asked again.
        if (outcome.Kind != StoreOutcomeKind.Decided)
        {
            return;
        }

        var grant = outcome.Decision.Lease;
        var id = new WindowRef(check.Window);
        while (true)
        {
            var lease = grant.IsEmpty
                ? _leases.GetValueOrDefault(id)
                : _leases.GetOrAdd(id, static (_, origin) => new WindowLease(origin), check);
            if (lease is null)
            {
                return;
            }

            bool taken;
            UnusedUnits unused;
            lock (lease)
            {
                if (lease.Removed)
                {
                    continue;
                }

                taken = lease.Take(check.LeaseSequence, grant, outcome.Decision.Stats, ticks, out unused);
                if (lease.Holds(grant))
                {
                    outcome = StoreOutcome.Decided(outcome.Decision with { Stats = lease.View().Stats }, outcome.Path);
                }
            }

            Took(taken ? grant.Units : 0, unused);
            return;
        }
    }

    private void Took(long granted, UnusedUnits unused)
    {
        if (granted > 0)
        {
            _metrics.LeaseGranted(granted);
        }

        if (unused.Units > 0)
        {
            _ = ReleaseAsync([unused]);
        }
    }

    private bool Leases(in WindowCheck check) =>
        check.Definition.Kind is not (LimitKind.Meta or LimitKind.Fallback)
        && check.Window.Strategy != RateLimitStrategy.MovingWindow
        && LeasingOf(check.Definition) != RateLimitLeasing.Never;

    private RateLimitLeasing LeasingOf(LimitDefinition definition) => definition.Leasing ?? _defaultLeasing;

    private long NextSequence() => Interlocked.Increment(ref _sequence);
}
