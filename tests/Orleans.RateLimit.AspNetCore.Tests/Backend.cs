namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>Where a <see cref="TestApp"/> keeps its windows.</summary>
public enum Backend
{
    /// <summary>One web node, no Orleans.</summary>
    Memory,

    /// <summary>Two web nodes, each with an embedded silo of one shared cluster.</summary>
    Grains,
}
