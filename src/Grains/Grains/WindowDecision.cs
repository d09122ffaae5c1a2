namespace Orleans.RateLimit.Grains;

/// <summary>The answer of a window's owner to a hit or a test: whether it is allowed, and the window afterwards.</summary>
[GenerateSerializer, Immutable, Alias("orl.WindowDecision")]
public readonly record struct WindowDecision
{
    /// <summary>Creates a decision.</summary>
    public WindowDecision(bool allowed, WindowStats stats)
    {
        Allowed = allowed;
        Stats = stats;
    }

    /// <summary>Whether the hit was (or would be) within the limit.</summary>
    [Id(0)]
    public bool Allowed { get; init; }

    /// <summary>
    /// The window after the hit (or as it stands, for a test). When <see cref="Lease"/> grants units, they are already
    /// spent here: the node that holds them adds them to <see cref="WindowStats.Remaining"/> for its own view.
    /// </summary>
    [Id(1)]
    public WindowStats Stats { get; init; }

    /// <summary>The budget granted to the calling node with this decision, if it asked for one; empty otherwise.</summary>
    [Id(2)]
    public LeaseGrant Lease { get; init; }
}
