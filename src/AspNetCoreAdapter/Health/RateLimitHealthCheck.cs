using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Whether the limiter's decisions come from the cluster: healthy while they do, degraded while a fallback decides instead
/// (the circuit is open, or windows were counted in memory or skipped within the recent interval), and the registration's
/// failure status while limits that fail closed reject requests with 503. No client key appears in the result.
/// </summary>
internal sealed class RateLimitHealthCheck(RateLimitHealthState? state, RateLimitOptions? options, ClusterPing ping) : IHealthCheck
{
    private static readonly string Interval = $"{RateLimitHealthState.IntervalSeconds} s";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (state is null || options is null)
        {
            return new HealthCheckResult(
                context.Registration.FailureStatus, "There is no limiter to check: call builder.Services.AddOrleansRateLimiting() as well.");
        }

        if (options.Backend == RateLimitBackend.Memory)
        {
            return HealthCheckResult.Healthy(
                "Limits are counted in this process (RateLimit:Backend is Memory).",
                new Dictionary<string, object> { ["backend"] = nameof(RateLimitBackend.Memory) });
        }

        var now = state.Read();
        var data = new Dictionary<string, object>
        {
            ["backend"] = nameof(RateLimitBackend.Orleans),
            ["circuit"] = now.CircuitOpenSince is null ? "closed" : "open",
            ["interval_seconds"] = RateLimitHealthState.IntervalSeconds,
            ["failed_calls"] = now.FailedCalls,
            ["decided_in_memory"] = now.DecidedInMemory,
            ["decided_fail_open"] = now.DecidedFailOpen,
            ["decided_fail_closed"] = now.DecidedFailClosed,
        };

        if (now.CircuitOpenSince is { } since)
        {
            data["circuit_open_since"] = since;
            var answers = await ping.AnswersAsync(cancellationToken).ConfigureAwait(false);
            data["cluster_answers"] = answers;
            if (answers)
            {
                return HealthCheckResult.Degraded(
                    "The cluster answers again: limits are decided by their failure modes until the next rate-limited request's probe closes the circuit.",
                    data: data);
            }

            return now.FailedClosedWhileOpen || now.FailedClosedRecently
                ? new HealthCheckResult(
                    context.Registration.FailureStatus,
                    "The cluster is unreachable: requests under limits that fail closed are rejected with 503 until it answers again.",
                    data: data)
                : HealthCheckResult.Degraded(
                    "The cluster is unreachable: limits are decided by their failure modes on this node until a probe gets an answer.", data: data);
        }

        if (now.FailedClosedRecently)
        {
            return new HealthCheckResult(
                context.Registration.FailureStatus,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"Limits that fail closed could not be checked in the last {Interval}, and rejected their requests with 503 (failed calls: {now.FailedCalls}, rejected: {now.DecidedFailClosed})."),
                data: data);
        }

        if (now.FallbackRecently)
        {
            return HealthCheckResult.Degraded(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"Limits were decided without the cluster in the last {Interval} (failed calls: {now.FailedCalls}, counted in memory: {now.DecidedInMemory}, skipped by fail open: {now.DecidedFailOpen})."),
                data: data);
        }

        return HealthCheckResult.Healthy($"No limit was decided without the cluster in the last {Interval}.", data);
    }
}
