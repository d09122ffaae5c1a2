using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Asks the cluster whether it answers, for the health check while the circuit is open. Only requests start the circuit's
/// own probes, so a node that a readiness probe took out of rotation would otherwise report the outage for ever; with this
/// it reports that the cluster answers again, gets traffic back, and its next request closes the circuit. One ping at a
/// time: checks that arrive meanwhile share it.
/// </summary>
internal sealed class ClusterPing(IServiceProvider services)
{
    // Below Kubernetes' default probe timeout (1 s), so that a hanging cluster is reported as such rather than as a probe
    // that timed out.
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);

    private readonly Lock _gate = new();
    private GrainRateLimitStore? _store;
    private Task<bool>? _pending;

    /// <summary>Whether the cluster answered a ping within the timeout.</summary>
    public Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        Task<bool> ping;
        lock (_gate)
        {
            if (_pending is not { IsCompleted: false })
            {
                _pending = PingAsync();
            }

            ping = _pending;
        }

        return ping.WaitAsync(cancellationToken);
    }

    private async Task<bool> PingAsync()
    {
        var time = services.GetRequiredService<TimeProvider>();
        try
        {
            await Store().PingAsync().WaitAsync(Timeout, time).ConfigureAwait(false);
            return true;
        }
#pragma warning disable CA1031 // Whatever the ping failed with, the cluster did not answer it.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    /// <summary>
    /// A store of its own, made at the first ping (only pings run here, one at a time): pings go to partition grains as the
    /// circuit's probes do, and count in no metric.
    /// </summary>
    private GrainRateLimitStore Store() => _store ??= new GrainRateLimitStore(
        services.GetRequiredService<IGrainFactory>(),
        services.GetRequiredService<IOptions<RateLimitOptions>>().Value.Partitions,
        services.GetRequiredService<CallDeadlines>(),
        services.GetRequiredService<TimeProvider>(),
        services.GetRequiredService<RateLimitMetrics>(),
        services.GetRequiredService<ILogger<GrainRateLimitStore>>());
}
