using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>One window decision a request needs.</summary>
/// <param name="Definition">The limit's settings (its failure mode, whether it is a fallback limit).</param>
/// <param name="Window">The window.</param>
/// <param name="Operation">Hit, test or read the window.</param>
/// <param name="Cost">What the request costs.</param>
/// <param name="StopIfRefused">When the window refuses, decide none of the checks after this one.</param>
/// <param name="StopIfAnyRefused">After this check, decide none of the rest if any check so far refused (a phase's end).</param>
internal readonly record struct WindowCheck(
    LimitDefinition Definition, RateLimitWindowKey Window, WindowOperation Operation, int Cost, bool StopIfRefused, bool StopIfAnyRefused = false)
{
    /// <summary>Above 0, asks the window's owner for a budget besides the decision (see <see cref="WindowCall.LeaseSequence"/>).</summary>
    public long LeaseSequence { get; init; }

    /// <summary>For <see cref="WindowOperation.Release"/>: the period the returned units were granted in.</summary>
    public long LeasePeriodStartTicks { get; init; }

    /// <summary>Whether no check after this one is decided, given its decision and whether any check so far refused.</summary>
    public bool Stops(in WindowDecision decision, bool anyRefused) =>
        WindowCall.StopsAfter(decision.Allowed, anyRefused, StopIfRefused, StopIfAnyRefused);
}
