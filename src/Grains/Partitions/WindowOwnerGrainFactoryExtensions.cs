namespace Orleans.RateLimit.Grains;

/// <summary>Reaches a window through its owning partition grain, from a silo or a cluster client.</summary>
public static class WindowOwnerGrainFactoryExtensions
{
    /// <summary>The partition grain that owns <paramref name="window"/> in a cluster of <paramref name="partitions"/> partitions.</summary>
    public static IWindowPartitionGrain GetWindowOwner(this IGrainFactory grains, RateLimitWindowKey window, int partitions = WindowPartition.DefaultCount)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(window);
        return grains.GetGrain<IWindowPartitionGrain>(WindowPartition.Of(window.Key, partitions).GrainKey);
    }

    /// <summary>Spends <paramref name="cost"/> units of <paramref name="window"/> now if its limit allows it.</summary>
    public static ValueTask<WindowDecision> HitAsync(this IGrainFactory grains, RateLimitWindowKey window, int cost = 1, int partitions = WindowPartition.DefaultCount) =>
        DecideAsync(grains, window, WindowOperation.Hit, cost, partitions);

    /// <summary>Whether <paramref name="cost"/> units of <paramref name="window"/> could be spent now, spending nothing.</summary>
    public static ValueTask<WindowDecision> TestAsync(this IGrainFactory grains, RateLimitWindowKey window, int cost = 1, int partitions = WindowPartition.DefaultCount) =>
        DecideAsync(grains, window, WindowOperation.Test, cost, partitions);

    /// <summary>What remains of <paramref name="window"/> now and when it resets.</summary>
    public static async ValueTask<WindowStats> StatsAsync(this IGrainFactory grains, RateLimitWindowKey window, int partitions = WindowPartition.DefaultCount) =>
        (await DecideAsync(grains, window, WindowOperation.Stats, 0, partitions).ConfigureAwait(false)).Stats;

    /// <summary>Forgets every hit of <paramref name="window"/>, in memory and in storage.</summary>
    public static ValueTask ClearAsync(this IGrainFactory grains, RateLimitWindowKey window, int partitions = WindowPartition.DefaultCount) =>
        grains.GetWindowOwner(window, partitions).Clear(new WindowRef(window));

    private static async ValueTask<WindowDecision> DecideAsync(
        IGrainFactory grains, RateLimitWindowKey window, WindowOperation operation, int cost, int partitions)
    {
        var decisions = await grains.GetWindowOwner(window, partitions)
            .Decide([new WindowCall(new WindowRef(window), operation, cost, StopIfRefused: false)])
            .ConfigureAwait(false);
        return decisions[0];
    }
}
