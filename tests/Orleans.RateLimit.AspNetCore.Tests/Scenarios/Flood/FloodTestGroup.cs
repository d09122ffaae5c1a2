namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// Flood tests measure the managed heap of the whole process, so they run alone, after every test that runs in parallel.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FloodTestGroup
{
    public const string Name = "Unique-key floods";
}
