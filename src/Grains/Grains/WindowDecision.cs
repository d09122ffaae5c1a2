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

    /// <summary>The window after the hit (or as it stands, for a test).</summary>
    [Id(1)]
    public WindowStats Stats { get; init; }
}
