using Microsoft.Extensions.Hosting;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Gives this node's budgets back to their owners as the host begins to stop, before any service (a co-hosted silo, a
/// cluster client) stops, so that an orderly restart strands no quota.
/// </summary>
internal sealed class LeaseReturnOnShutdown(RateLimitStores stores) : IHostedLifecycleService
{
    private static readonly TimeSpan ReturnTimeout = TimeSpan.FromSeconds(1);

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (stores.Leased is { } leased)
        {
            try
            {
                await leased.ReturnAllAsync(ReturnTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Units that did not reach their owners stay spent there until their periods end: a stop is never held up.
            }
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
