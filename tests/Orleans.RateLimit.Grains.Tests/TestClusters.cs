using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Real in-process Orleans clusters with the rate-limit grains and a fake clock for grain code.</summary>
public static class TestClusters
{
    /// <summary>A start time with a fractional second, so truncation mistakes show.</summary>
    public static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, 250, TimeSpan.Zero);

    /// <summary>
    /// Starts a cluster of <paramref name="silos"/> silos; <paramref name="services"/> runs on each silo after the rate-limit
    /// grains were added, so that its registrations win.
    /// </summary>
    public static async Task<InProcessTestCluster> StartAsync(
        short silos,
        FakeTimeProvider clock,
        Action<RateLimitGrainOptions>? grains = null,
        string? serviceId = null,
        string? clusterId = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        if (serviceId is not null)
        {
            builder.Options.ServiceId = serviceId;
        }

        if (clusterId is not null)
        {
            builder.Options.ClusterId = clusterId;
        }

        builder.ConfigureSiloHost((_, host) => UseFakeClockForGrains(host.Services, clock));
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddRateLimitGrains(grains);
            services?.Invoke(silo.Services);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>
    /// Grain code and grain timers see <paramref name="clock"/>; Orleans' own background areas keep the system clock, so that
    /// jumping the fake clock does not make membership or activation collection think the silo stalled.
    /// </summary>
    public static void UseFakeClockForGrains(IServiceCollection services, FakeTimeProvider clock)
    {
        services.AddSingleton<TimeProvider>(clock);
        foreach (var area in new[]
        {
            TimeProviderNames.ActivationManagement, TimeProviderNames.GrainDirectory, TimeProviderNames.Membership,
            TimeProviderNames.Messaging, TimeProviderNames.SystemTimers,
        })
        {
            services.AddKeyedSingleton(area, TimeProvider.System);
        }

        services.AddKeyedSingleton<TimeProvider>(TimeProviderNames.Grains, clock);
    }

    /// <summary>The grain factory of silo <paramref name="index"/>, so that calls start on that silo.</summary>
    public static IGrainFactory FactoryOf(this InProcessTestCluster cluster, int index) =>
        cluster.Silos[index].ServiceProvider.GetRequiredService<IGrainFactory>();

    /// <summary>The partition grain that owns <paramref name="window"/>, reached through the cluster's client.</summary>
    public static IWindowPartitionGrain OwnerOf(this InProcessTestCluster cluster, RateLimitWindowKey window) =>
        cluster.Client.GetWindowOwner(window);

    /// <summary>
    /// What remains of <paramref name="window"/>, read through a zero-cost hit, which brings the window into its partition's
    /// memory (with what storage holds for it) as a request does.
    /// </summary>
    public static async Task<WindowStats> StatsThroughHitAsync(this IGrainFactory grains, RateLimitWindowKey window) =>
        (await grains.HitAsync(window, 0)).Stats;

    /// <summary>Deactivates <paramref name="grain"/> (so it writes its windows) and returns once it is gone.</summary>
    public static async Task DeactivateAndWaitAsync(this InProcessTestCluster cluster, IAddressable grain)
    {
        await cluster.DeactivateAsync(grain);
        await cluster.WaitForDeactivationAsync(grain);
    }

    /// <summary>The silo that holds the activation of <paramref name="grain"/>; <see langword="null"/> when none does.</summary>
    public static InProcessSiloHandle? HostOf(this InProcessTestCluster cluster, IAddressable grain) =>
        cluster.TryGetGrainContext(grain.GetGrainId(), out var context) && context.Address.SiloAddress is { } silo
            ? cluster.GetSiloForAddress(silo)
            : null;

    /// <summary>Polls <paramref name="condition"/> until it holds, for at most <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}.");
            }

            await Task.Delay(25);
        }
    }
}
