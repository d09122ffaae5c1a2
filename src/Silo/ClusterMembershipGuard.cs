using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using StackExchange.Redis;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// Stops a silo whose cluster's membership vanished from Redis, instead of letting it go on beside a second cluster.
/// </summary>
/// <remarks>
/// With Redis clustering the membership table lives in Redis. A Redis that restarts without persistence comes back empty:
/// the silos still running can no longer update the table, and a silo started afterwards writes a new one and forms a
/// second cluster, which counts every window a second time. So once this silo is active it makes sure a marker of its
/// cluster exists in Redis (the first silo of the cluster writes it) and checks it every <see cref="CheckInterval"/>:
/// gone, or replaced by another cluster's, means Redis lost the membership. The silo then logs it as Critical and stops
/// its host, so that it is started again (by its supervisor) into one cluster formed anew. Redis being unreachable
/// decides nothing: the next check asks again. An orderly stop that hangs (Orleans retrying to update a table that is gone)
/// ends the process after <see cref="StopGrace"/>.
/// </remarks>
internal sealed partial class ClusterMembershipGuard(
    string redis, string markerKey, IClusterMembershipService membership, ILocalSiloDetails silo, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<ClusterMembershipGuard> logger)
    : BackgroundService
{
    internal static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    /// <summary>How long an orderly stop may take once the membership is known to be lost.</summary>
    internal static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(15);

    /// <summary>The Redis key of the marker of the cluster <paramref name="clusterId"/> of service <paramref name="serviceId"/>.</summary>
    public static string MarkerKey(string serviceId, string clusterId) => $"{serviceId}/membership-marker/{clusterId}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var configuration = ConfigurationOptions.Parse(redis);
        configuration.AbortOnConnectFail = false;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        var database = connection.GetDatabase();
        string? marker = null;
        using var timer = new PeriodicTimer(CheckInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            if (membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress) != SiloStatus.Active)
            {
                continue;
            }

            try
            {
                if (marker is null)
                {
                    // Joining: take the cluster's marker, or write it as the cluster's first silo.
                    await database.StringSetAsync(markerKey, Guid.NewGuid().ToString("N"), when: When.NotExists).ConfigureAwait(false);
                    marker = await database.StringGetAsync(markerKey).ConfigureAwait(false);
                    continue;
                }

                var stored = await database.StringGetAsync(markerKey).ConfigureAwait(false);
                if (stored != marker)
                {
                    var what = stored.IsNull ? "is gone" : "belongs to another cluster";
                    MembershipLost(logger, markerKey, what);
                    lifetime.StopApplication();
                    _ = EndIfStillRunningAsync(markerKey, what);
                    return;
                }
            }
            catch (RedisException)
            {
                // Unreachable or timed out: nothing is known; Redis' own outage is logged by the window storage and Orleans.
            }
        }
    }

    /// <summary>
    /// Ends the process if an orderly stop does not within <see cref="StopGrace"/>: a silo whose membership table is gone can
    /// hang in its own shutdown, retrying to mark itself dead in a table that no longer exists.
    /// </summary>
    private async Task EndIfStillRunningAsync(string key, string what)
    {
        await Task.Delay(StopGrace, time).ConfigureAwait(false);
        Environment.FailFast($"The cluster's membership in Redis vanished (its marker {key} {what}) and the silo did not stop within {StopGrace.TotalSeconds:0} s.");
    }

    [LoggerMessage(20, LogLevel.Critical, "The cluster's membership in Redis vanished: its marker {MarkerKey} {What}, so Redis lost its data (was it restarted without persistence?). Stopping this silo, so that it is started again into one cluster formed anew rather than beside a second one.")]
    private static partial void MembershipLost(ILogger logger, string markerKey, string what);
}
