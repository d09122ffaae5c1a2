using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Orleans.RateLimit.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Orleans.RateLimit's health check to ASP.NET Core health checks.</summary>
public static class RateLimitHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check of the limiter registered with <c>services.AddOrleansRateLimiting()</c>: <see cref="HealthStatus.Healthy"/>
    /// while every limit is decided by the cluster (or by this process with the memory backend);
    /// <see cref="HealthStatus.Degraded"/> while the circuit to the cluster is open, or windows were decided without it (counted
    /// in memory, skipped) within the last 10 seconds; <paramref name="failureStatus"/> while limits that fail closed can't be
    /// checked and reject their requests with 503. While the circuit is open the check pings the cluster once, and reports
    /// <see cref="HealthStatus.Degraded"/> if it answers. The result's data counts the failed calls and the decisions made
    /// without the cluster by failure mode; no client key appears in it.
    /// </summary>
    /// <param name="builder">The health checks builder, from <c>services.AddHealthChecks()</c>.</param>
    /// <param name="name">The check's name in the health report.</param>
    /// <param name="failureStatus">
    /// The status reported while limits that fail closed can't be checked; <see langword="null"/> for
    /// <see cref="HealthStatus.Unhealthy"/>.
    /// </param>
    /// <param name="tags">Tags to select the check by, e.g. in <c>HealthCheckOptions.Predicate</c>.</param>
    public static IHealthChecksBuilder AddOrleansRateLimiting(
        this IHealthChecksBuilder builder, string name = "orleans-ratelimit", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        builder.Services.TryAddSingleton<ClusterPing>();
        return builder.Add(new HealthCheckRegistration(
            name,
            services => new RateLimitHealthCheck(
                services.GetService<RateLimitHealthState>(),
                services.GetService<IOptions<RateLimitOptions>>()?.Value,
                services.GetRequiredService<ClusterPing>()),
            failureStatus,
            tags));
    }
}
