using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Decides windows in their owning partition grains, through the co-hosted silo's or a cluster client's grain factory. The
/// checks of a request go to their owners together: one call per run of consecutive checks with the same owner, and since
/// the owner is chosen by the client key, a request's windows usually make one run. Runs go one after another, so a refusal
/// in one stops the next as fail-on-first-breach requires. A call that fails or passes its deadline answers
/// <see cref="StoreOutcomeKind.FallBack"/> for every check it did not decide, and the layer above applies failure modes.
/// </summary>
internal sealed class GrainRateLimitStore : IRateLimitStore
{
    private static readonly RateLimitItem ProbeLimit = RateLimitItem.Parse("1/second");

    private readonly IGrainFactory _grains;

    // Made on first use: a cluster client can only resolve the grain's type once it has reached the cluster.
    private readonly IWindowPartitionGrain?[] _owners;
    private readonly CallDeadlines _deadlines;
    private readonly TimeProvider _time;
    private readonly RateLimitMetrics _metrics;
    private readonly ILogger<GrainRateLimitStore> _logger;

    public GrainRateLimitStore(
        IGrainFactory grains, int partitions, CallDeadlines deadlines, TimeProvider time, RateLimitMetrics metrics, ILogger<GrainRateLimitStore> logger)
    {
        ArgumentNullException.ThrowIfNull(grains);
        _grains = grains;
        _owners = new IWindowPartitionGrain?[partitions];
        _deadlines = deadlines;
        _time = time;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>This node, to the owners that grant it budgets: one identity for the life of the process.</summary>
    public Guid Holder { get; } = Guid.NewGuid();

    public async ValueTask<int> DecideAsync(ReadOnlyMemory<WindowCheck> checks, Memory<StoreOutcome> outcomes)
    {
        var start = 0;
        var anyRefused = false;
        while (start < checks.Length)
        {
            var (owner, calls) = NextRun(checks.Span, start, anyRefused);
            WindowDecision[] decisions;
            var started = _time.GetTimestamp();
            try
            {
                decisions = await Owner(owner).DecideFor(Holder, calls, _deadlines.Token()).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _metrics.OwnerCallEnded(_time.GetElapsedTime(started), OwnerCallOutcome.Timeout);
                outcomes.Span[start..checks.Length].Fill(StoreOutcome.FallBack(_deadlines.Expired()));
                return checks.Length;
            }
#pragma warning disable CA1031 // Whatever the cluster failed with, the layer above decides by each limit's failure mode.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _metrics.OwnerCallEnded(_time.GetElapsedTime(started), OwnerCallOutcome.Error);
                outcomes.Span[start..checks.Length].Fill(StoreOutcome.FallBack(e));
                return checks.Length;
            }

            _metrics.OwnerCallEnded(_time.GetElapsedTime(started), OwnerCallOutcome.Ok);

            var decided = outcomes.Span.Slice(start);
            for (var i = 0; i < decisions.Length; i++)
            {
                decided[i] = StoreOutcome.Decided(decisions[i], DecisionPath.OwnerCall);
                anyRefused |= !decisions[i].Allowed;
            }

            // A check that stops ends the request's checks here, also when it was the last of its run.
            if (decisions.Length < calls.Length || checks.Span[start + decisions.Length - 1].Stops(decisions[^1], anyRefused))
            {
                return start + decisions.Length;
            }

            start += calls.Length;
        }

        return checks.Length;
    }

    public void RecordBreach(RateLimitWindowKey metaWindow)
    {
        // A one-way call returns once the message is queued; a failure to queue it loses one breach, never the request.
        Task recorded;
        try
        {
            recorded = Owner(OwnerOf(metaWindow)).RecordBreaches([new WindowRef(metaWindow)]);
        }
#pragma warning disable CA1031 // A lost breach count must not surface anywhere but the log.
        catch (Exception e)
#pragma warning restore CA1031
        {
            recorded = Task.FromException(e);
        }

        if (!recorded.IsCompletedSuccessfully)
        {
            _ = LogFailureAsync(recorded, metaWindow);
        }
    }

    /// <summary>
    /// Whether the cluster answers: reads a short window under a fresh key each time, so that probes land on different
    /// partitions, and so on different silos, and never touch storage (short windows are not persisted).
    /// </summary>
    public async Task PingAsync()
    {
        var probe = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, ProbeLimit, "orleans-ratelimit-probe", Guid.NewGuid().ToString("N"), "");
        await Owner(OwnerOf(probe)).Decide([new WindowCall(new WindowRef(probe), WindowOperation.Stats, 0, false)], CancellationToken.None).ConfigureAwait(false);
    }

    private IWindowPartitionGrain Owner(int partition) =>
        _owners[partition] ??= _grains.GetGrain<IWindowPartitionGrain>(new WindowPartition(partition, _owners.Length).GrainKey);

    private int OwnerOf(RateLimitWindowKey window) => WindowPartition.IndexOf(window.Key, _owners.Length);

    /// <summary>
    /// The consecutive checks from <paramref name="start"/> with the same owner. When an earlier run refused, the owner can't
    /// know it, so the run ends at the first phase end, where the request stops.
    /// </summary>
    private (int Owner, WindowCall[] Calls) NextRun(ReadOnlySpan<WindowCheck> checks, int start, bool refusedBefore)
    {
        var owner = OwnerOf(checks[start].Window);
        var end = start + 1;
        while (end < checks.Length
            && !(refusedBefore && checks[end - 1].StopIfAnyRefused)
            && (ReferenceEquals(checks[end].Window.Key, checks[start].Window.Key) || OwnerOf(checks[end].Window) == owner))
        {
            end++;
        }

        var calls = new WindowCall[end - start];
        for (var i = 0; i < calls.Length; i++)
        {
            var check = checks[start + i];
            calls[i] = new WindowCall(
                new WindowRef(check.Window), check.Operation, check.Cost, check.StopIfRefused, check.StopIfAnyRefused, check.LeaseSequence, check.LeasePeriodStartTicks);
        }

        return (owner, calls);
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
            RateLimitLog.BreachNotRecorded(_logger, window.Limit.ToString(), RateLimitLog.Bounded(window.Key), e);
        }
    }
}
