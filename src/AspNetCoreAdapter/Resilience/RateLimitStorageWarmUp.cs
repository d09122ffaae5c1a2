using Microsoft.Extensions.Hosting;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>Warms the grain path up once the host (and so a co-hosted silo or a cluster client) has started.</summary>
internal sealed class RateLimitStorageWarmUp(ResilientRateLimitStore storage) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken) => storage.WarmUpAsync(cancellationToken);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
