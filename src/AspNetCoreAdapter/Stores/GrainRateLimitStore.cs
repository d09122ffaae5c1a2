using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>Counts each window in its window grain, through the co-hosted silo's or a cluster client's grain factory.</summary>
internal sealed class GrainRateLimitStore(IGrainFactory grains, ILogger<GrainRateLimitStore> logger) : IRateLimitStore
{
    private static readonly RateLimitItem ProbeLimit = RateLimitItem.Parse("1/second");

    public ValueTask<WindowDecision> HitAsync(RateLimitWindowKey window, int cost) => Window(window).Hit(cost);

    public ValueTask<WindowDecision> TestAsync(RateLimitWindowKey window, int cost) => Window(window).Test(cost);

    public ValueTask<WindowStats> StatsAsync(RateLimitWindowKey window) => Window(window).Stats();

    public ValueTask<WindowDecision> CheckMetaAsync(RateLimitWindowKey window, int cost) => Meta(window).Check(cost);

    public void RecordBreach(RateLimitWindowKey window)
    {
        // A one-way call returns once the message is queued; a failure to queue it loses one breach, never the request.
        var recorded = Meta(window).RecordBreach();
        if (!recorded.IsCompletedSuccessfully)
        {
            _ = LogFailureAsync(recorded, window);
        }
    }

    private async Task LogFailureAsync(Task recorded, RateLimitWindowKey window)
    {
        try
        {
            await recorded.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A lost breach count must not surface anywhere but the log.
        catch (Exception e)
#pragma warning restore CA1031
        {
            RateLimitLog.BreachNotRecorded(logger, window.Limit.ToString(), RateLimitLog.Bounded(window.Key), e);
        }
    }

    /// <summary>
    /// Whether the cluster answers: reads a short window and a short meta window under a fresh key each time, so that probes
    /// land on different silos and never touch grain storage (short windows are not persisted).
    /// </summary>
    public async Task PingAsync()
    {
        var probe = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, ProbeLimit, "orleans-ratelimit-probe", Guid.NewGuid().ToString("N"), "");
        await Window(probe).Stats().ConfigureAwait(false);
        await Meta(probe).Check(0).ConfigureAwait(false);
    }

    private IRateLimitWindowGrain Window(RateLimitWindowKey window) => grains.GetGrain<IRateLimitWindowGrain>(window.ToGrainKey());

    private IMetaLimitGrain Meta(RateLimitWindowKey window) => grains.GetGrain<IMetaLimitGrain>(window.ToGrainKey());
}
