using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace Orleans.RateLimit.Grains;

/// <summary>The meta-limit grain: counts one client's breaches in a window of the meta limit.</summary>
internal sealed class MetaLimitGrain(
    IGrainRuntime runtime, IOptions<RateLimitGrainOptions> options, ILogger<MetaLimitGrain> logger)
    : WindowGrainBase(runtime, options, logger), IMetaLimitGrain
{
    public Task RecordBreach()
    {
        // Breaches always count with cost 1, as in the original; the result does not matter to anyone.
        HitWindow(1);
        return Task.CompletedTask;
    }

    public ValueTask<WindowDecision> Check(int cost) => ValueTask.FromResult(TestWindow(cost));

    public ValueTask<WindowStats> Stats() => ValueTask.FromResult(WindowStatsNow());

    public ValueTask Clear() => ClearWindowAsync();
}
