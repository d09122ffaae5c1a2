using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace Orleans.RateLimit.Grains;

/// <summary>The window grain: one (limit, scope, key) window.</summary>
internal sealed class RateLimitWindowGrain(
    IGrainRuntime runtime, IOptions<RateLimitGrainOptions> options, ILogger<RateLimitWindowGrain> logger)
    : WindowGrainBase(runtime, options, logger), IRateLimitWindowGrain
{
    public ValueTask<WindowDecision> Hit(int cost) => ValueTask.FromResult(HitWindow(cost));

    public ValueTask<WindowDecision> Test(int cost) => ValueTask.FromResult(TestWindow(cost));

    public ValueTask<WindowStats> Stats() => ValueTask.FromResult(WindowStatsNow());

    public ValueTask Clear() => ClearWindowAsync();
}
