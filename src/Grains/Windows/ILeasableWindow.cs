namespace Orleans.RateLimit;

/// <summary>
/// A window whose current period's quota can be handed out in chunks (leases) to nodes that then decide from them without
/// asking the owner. Granted units count as spent at once, so the window never admits more than its limit however the
/// chunks are used; units a node did not use can be given back while their period still counts.
/// </summary>
/// <remarks>The fixed window and the sliding-window counter lease; the moving window, which remembers each hit's time, does not.</remarks>
public interface ILeasableWindow
{
    /// <summary>
    /// Takes up to <paramref name="units"/> of what the current period still allows at <paramref name="now"/>, counting them
    /// as spent. Grants nothing when no period is running, so that a grant never opens a window no request has opened; when
    /// one is running, the grant names it even if it holds no units.
    /// </summary>
    WindowGrant Grant(DateTimeOffset now, long units);

    /// <summary>
    /// Gives back <paramref name="units"/> granted in the period that started at <paramref name="periodStartTicks"/>, as far
    /// as that period still counts at <paramref name="now"/>; otherwise does nothing.
    /// </summary>
    void Release(DateTimeOffset now, long units, long periodStartTicks);
}

/// <summary>Units taken from a window's current period, and the period they belong to.</summary>
/// <param name="Units">How many units were taken; 0 when none could be.</param>
/// <param name="PeriodStartTicks">When the period began (UTC ticks); 0 when no period is running.</param>
/// <param name="PeriodEndTicks">When the period ends (UTC ticks): after it the units count for nothing.</param>
public readonly record struct WindowGrant(long Units, long PeriodStartTicks, long PeriodEndTicks)
{
    /// <summary>Nothing granted, and no period running.</summary>
    public static WindowGrant None => default;
}
