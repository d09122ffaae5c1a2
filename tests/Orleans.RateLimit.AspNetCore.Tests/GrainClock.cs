using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Runtime;

namespace Orleans.RateLimit.AspNetCore.Tests;

internal static class GrainClock
{
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
}
