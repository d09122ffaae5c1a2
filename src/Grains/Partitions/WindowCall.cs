namespace Orleans.RateLimit.Grains;

/// <summary>What a call does to its window.</summary>
public enum WindowOperation
{
    /// <summary>Spends the cost if the limit allows it (a fixed window counts it either way, as in the original).</summary>
    Hit = 0,

    /// <summary>Whether the cost could be spent, spending nothing; also how a meta limit is checked.</summary>
    Test = 1,

    /// <summary>What remains of the window and when it resets.</summary>
    Stats = 2,

    /// <summary>
    /// Grants the calling node a budget of the window's current period (<see cref="WindowCall.LeaseSequence"/> names the
    /// request), spending nothing else. Used to refill a lease ahead of need.
    /// </summary>
    Lease = 3,

    /// <summary>
    /// Gives back <see cref="WindowCall.Cost"/> unused units the calling node was granted in the period that started at
    /// <see cref="WindowCall.LeasePeriodStartTicks"/>.
    /// </summary>
    Release = 4,

    /// <summary>
    /// Adds <see cref="WindowCall.Cost"/> hits the calling node admitted on its own while it could not reach the owner, so
    /// that the window does not admit them a second time; as far as the window's current period allows, and only if that
    /// period had begun by <see cref="WindowCall.LeasePeriodStartTicks"/>, when the first of them was admitted (hits of an
    /// earlier period count for nothing now).
    /// </summary>
    Absorb = 5,
}

/// <summary>One window decision asked of the window's owner.</summary>
/// <param name="Window">The window.</param>
/// <param name="Operation">What to do.</param>
/// <param name="Cost">What the request costs.</param>
/// <param name="StopIfRefused">When the window refuses, decide none of the calls after this one in the same batch.</param>
/// <param name="StopIfAnyRefused">
/// After this call, decide none of the rest if any call so far refused: the end of a phase, after which the original
/// evaluates nothing more once a limit has broken, whether or not it stops at the first breach.
/// </param>
/// <param name="LeaseSequence">
/// Above 0, the calling node asks for a budget of the window besides the decision, under this number: the node's numbers
/// only grow, and a request repeated with the same number (after a call that timed out) gets the grant made for it the first
/// time, not a second one.
/// </param>
/// <param name="LeasePeriodStartTicks">
/// For <see cref="WindowOperation.Release"/>: the period the returned units were granted in; for
/// <see cref="WindowOperation.Absorb"/>: when the first of the hits was admitted (UTC ticks).
/// </param>
[GenerateSerializer, Immutable, Alias("orl.WindowCall")]
public readonly record struct WindowCall(
    [property: Id(0)] WindowRef Window,
    [property: Id(1)] WindowOperation Operation,
    [property: Id(2)] int Cost,
    [property: Id(3)] bool StopIfRefused,
    [property: Id(4)] bool StopIfAnyRefused = false,
    [property: Id(5)] long LeaseSequence = 0,
    [property: Id(6)] long LeasePeriodStartTicks = 0)
{
    /// <summary>
    /// Whether nothing after a call is decided: it refused and stops when refused, or it ends a phase and some call so far
    /// (itself included) refused. Owners and every layer of stores apply this one rule.
    /// </summary>
    /// <param name="allowed">Whether the call's window allowed it.</param>
    /// <param name="anyRefused">Whether any call so far, this one included, refused.</param>
    /// <param name="stopIfRefused">The call's <see cref="StopIfRefused"/>.</param>
    /// <param name="stopIfAnyRefused">The call's <see cref="StopIfAnyRefused"/>.</param>
    public static bool StopsAfter(bool allowed, bool anyRefused, bool stopIfRefused, bool stopIfAnyRefused) =>
        (!allowed && stopIfRefused) || (anyRefused && stopIfAnyRefused);
}
