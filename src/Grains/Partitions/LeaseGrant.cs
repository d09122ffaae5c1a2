namespace Orleans.RateLimit.Grains;

/// <summary>
/// A budget of one window granted to one node: <see cref="Units"/> the node may admit on its own until
/// <see cref="PeriodEndTicks"/>. The owner has already counted them as spent.
/// </summary>
/// <param name="Units">How many units were granted; 0 when the owner granted nothing (the window is near its limit).</param>
/// <param name="Sequence">The node's request number this grant answers.</param>
/// <param name="PeriodStartTicks">When the window's period that the units belong to began (UTC ticks).</param>
/// <param name="PeriodEndTicks">When that period ends (UTC ticks); unused units count for nothing after it.</param>
/// <param name="WindowVersion">
/// The window's <see cref="RateLimitWindow.Version"/> when the answer left its owner: of two answers that reach a node out of
/// order, the later version tells what the owner has left now.
/// </param>
[GenerateSerializer, Immutable, Alias("orl.LeaseGrant")]
public readonly record struct LeaseGrant(
    [property: Id(0)] long Units,
    [property: Id(1)] long Sequence,
    [property: Id(2)] long PeriodStartTicks,
    [property: Id(3)] long PeriodEndTicks,
    [property: Id(4)] long WindowVersion = 0)
{
    /// <summary>Whether anything was granted.</summary>
    public bool IsEmpty => Units <= 0;
}
