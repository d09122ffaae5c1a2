using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>How a store answered one <see cref="WindowCheck"/>.</summary>
internal enum StoreOutcomeKind
{
    /// <summary>The window decided; <see cref="StoreOutcome.Decision"/> holds its answer.</summary>
    Decided,

    /// <summary>The limit does not count for this request (its failure mode is to fail open).</summary>
    Skipped,

    /// <summary>
    /// This store could not decide. From the grain store: the cluster failed or did not answer in time, and the layer above
    /// decides by the limit's failure mode. From the resilient store: the limit gives way to the in-memory fallback limits,
    /// and the request is decided again with those.
    /// </summary>
    FallBack,

    /// <summary>The limit fails closed while the cluster can't be reached: the request is refused (503).</summary>
    FailClosed,

    /// <summary>The cluster can't be reached and nothing else may decide: the original's storage error.</summary>
    Failed,
}

/// <summary>One store's answer to one check.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Decision">The window's answer, when <see cref="Kind"/> is <see cref="StoreOutcomeKind.Decided"/>.</param>
/// <param name="Failure">What went wrong, when the cluster failed.</param>
/// <param name="Path">What decided the check.</param>
internal readonly record struct StoreOutcome(StoreOutcomeKind Kind, WindowDecision Decision, Exception? Failure = null, DecisionPath Path = DecisionPath.Fallback)
{
    public static StoreOutcome Decided(WindowDecision decision, DecisionPath path) => new(StoreOutcomeKind.Decided, decision, null, path);

    public static StoreOutcome Skipped { get; } = new(StoreOutcomeKind.Skipped, default);

    public static StoreOutcome FallBack(Exception? failure) => new(StoreOutcomeKind.FallBack, default, failure);

    /// <summary>
    /// Whether no check after <paramref name="check"/> is to be decided, given this outcome: a refusal that stops, a phase end
    /// after a refusal, or anything but a decision or a skip. Notes a refusal in <paramref name="anyRefused"/>.
    /// </summary>
    public bool EndsChecks(in WindowCheck check, ref bool anyRefused)
    {
        switch (Kind)
        {
            case StoreOutcomeKind.Decided:
                anyRefused |= !Decision.Allowed;
                return check.Stops(Decision, anyRefused);
            case StoreOutcomeKind.Skipped:
                return WindowCall.StopsAfter(allowed: true, anyRefused, check.StopIfRefused, check.StopIfAnyRefused);
            default:
                return true;
        }
    }
}
