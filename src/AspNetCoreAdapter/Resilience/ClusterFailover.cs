using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// What lets a window carry on across a failover instead of starting again: the last count its owner gave this node, the
/// budget this node may still hold, and the hits admitted in memory meanwhile, handed to the owner once it answers.
/// </summary>
internal sealed class ClusterFailover(MemoryRateLimitStore memory, LeasedRateLimitStore? leases, LastSeenCounts lastSeen, FallbackHits fallbackHits, TimeProvider time)
{
    /// <summary>Remembers an owner's decision, the latest this node knows of the window.</summary>
    public void Saw(in WindowCheck check, in StoreOutcome outcome)
    {
        if (outcome.Kind == StoreOutcomeKind.Decided && outcome.Path == DecisionPath.OwnerCall && check.Definition.Kind != LimitKind.Fallback)
        {
            lastSeen.Saw(new WindowRef(check.Window), outcome.Decision.Stats, time.GetUtcNow());
        }
    }

    /// <summary>Decides a check from this node's budget of its window, without any call, while the cluster can't be reached.</summary>
    public bool TryDecideFromBudget(in WindowCheck check, out StoreOutcome outcome)
    {
        outcome = default;
        return leases is not null && leases.TryDecideAlone(check, out outcome);
    }

    /// <summary>
    /// Decides a check in memory, its window starting from the count its owner last gave this node, and keeps an admitted
    /// hit for the owner.
    /// </summary>
    public WindowDecision DecideInMemory(in WindowCheck check)
    {
        var id = new WindowRef(check.Window);
        var seen = leases is not null && leases.TryOwnerView(id, out var view) ? view
            : lastSeen.TryFind(id, out var found) ? found
            : SeenWindow.Nothing;
        var decision = memory.DecideFrom(check, seen);
        if (decision.Allowed && check.Definition.Kind is not (LimitKind.Meta or LimitKind.Fallback))
        {
            fallbackHits.Admitted(check, time.GetUtcNow());
        }

        return decision;
    }

    /// <summary>The cluster answered a call: hits admitted in memory can go to their owners.</summary>
    public void OwnersAnswered() => fallbackHits.OwnersAnswered();
}
