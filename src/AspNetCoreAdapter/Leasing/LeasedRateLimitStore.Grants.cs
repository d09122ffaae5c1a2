using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>How budgets are refilled ahead of need, and given back when idle, when their period ends, or at shutdown.</summary>
internal sealed partial class LeasedRateLimitStore
{
    /// <summary>Gives every budget back to its owner, waiting at most <paramref name="timeout"/>; for an orderly shutdown.</summary>
    public async Task ReturnAllAsync(TimeSpan timeout)
    {
        var unused = new List<UnusedUnits>();
        foreach (var (id, lease) in _leases)
        {
            lock (lease)
            {
                Drop(id, lease);
                if (!lease.Refilling && lease.Left > 0 && _time.GetUtcNow().UtcTicks < lease.PeriodEndTicks)
                {
                    unused.Add(lease.TakeUnused());
                }
            }
        }

        if (unused.Count > 0)
        {
            await ReleaseAsync(unused).WaitAsync(timeout, _time).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Drops budgets that have gone idle and gives back what they hold; empties budgets whose period has ended, keeping
    /// them while they are used, so that the window's next period is asked for at once.
    /// </summary>
    internal void Sweep()
    {
        var ticks = _time.GetUtcNow().UtcTicks;
        List<UnusedUnits>? unused = null;
        foreach (var (id, lease) in _leases)
        {
            lock (lease)
            {
                if (lease.Refilling)
                {
                    continue;
                }

                var ended = ticks >= lease.PeriodEndTicks;
                var idle = ticks - lease.LastUsedTicks >= IdleAfter.Ticks;
                if (idle)
                {
                    Drop(id, lease);
                }

                if (!ended && !idle)
                {
                    continue;
                }

                // A fixed window's units die with its period; a sliding-window counter's still weigh on the next period.
                var leftover = lease.TakeUnused();
                if (idle && !ended && lease.OwnerSeenTicks > 0)
                {
                    // What the owner will have once the units are back: a later fallback starts the window from it.
                    var view = lease.OwnerView();
                    _lastSeen.Saw(id, view.Stats with { Remaining = view.Stats.Remaining + leftover.Units }, new DateTimeOffset(view.SeenTicks, TimeSpan.Zero));
                }

                if (leftover.Units > 0 && (!ended || lease.Origin.Window.Strategy == RateLimitStrategy.SlidingWindowCounter))
                {
                    (unused ??= []).Add(leftover);
                }
            }
        }

        if (unused is not null)
        {
            _ = ReleaseAsync(unused);
        }
    }

    private void Drop(WindowRef id, WindowLease lease)
    {
        lease.Removed = true;
        _leases.TryRemove(new KeyValuePair<WindowRef, WindowLease>(id, lease));
    }

    /// <summary>Asks the owners of <paramref name="leases"/> for more, in one call per owner, without anyone waiting for it.</summary>
    private async Task RefillAsync(List<WindowLease> leases)
    {
        var checks = new WindowCheck[leases.Count];
        for (var i = 0; i < checks.Length; i++)
        {
            var lease = leases[i];
            lock (lease)
            {
                checks[i] = lease.Origin with { LeaseSequence = lease.AskSequence(_nextSequence) };
            }
        }

        var outcomes = new StoreOutcome[checks.Length];
        var decided = await _owners.DecideAsync(checks, outcomes).ConfigureAwait(false);
        var ticks = _time.GetUtcNow().UtcTicks;
        for (var i = 0; i < checks.Length; i++)
        {
            var lease = leases[i];
            var taken = false;
            var unused = default(UnusedUnits);
            var grant = outcomes[i].Decision.Lease;
            lock (lease)
            {
                lease.Refilling = false;
                if (i < decided && outcomes[i].Kind == StoreOutcomeKind.Decided && !lease.Removed)
                {
                    taken = lease.Take(checks[i].LeaseSequence, grant, outcomes[i].Decision.Stats, ticks, out unused);
                }
            }

            Took(taken ? grant.Units : 0, unused);
        }
    }

    /// <summary>Gives units back to their owners, in one call per owner. Units that don't reach them stay spent there.</summary>
    private async Task ReleaseAsync(List<UnusedUnits> unused)
    {
        var checks = new WindowCheck[unused.Count];
        for (var i = 0; i < checks.Length; i++)
        {
            var (lease, units, periodStart) = unused[i];
            checks[i] = lease!.Origin with
            {
                Operation = WindowOperation.Release,
                Cost = (int)Math.Min(units, int.MaxValue),
                LeasePeriodStartTicks = periodStart,
            };
        }

        var outcomes = new StoreOutcome[checks.Length];
        var decided = await _owners.DecideAsync(checks, outcomes).ConfigureAwait(false);
        for (var i = 0; i < decided; i++)
        {
            if (outcomes[i].Kind == StoreOutcomeKind.Decided)
            {
                _metrics.LeaseReturned(checks[i].Cost);
            }
        }
    }
}
