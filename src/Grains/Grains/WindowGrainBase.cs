using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// What window grains and meta-limit grains share: the window named by the grain key, the clock, and write-behind persistence
/// for windows longer than <see cref="RateLimitGrainOptions.PersistenceThreshold"/>.
/// </summary>
internal abstract class WindowGrainBase : Grain
{
    private readonly RateLimitGrainOptions _options;
    private readonly ILogger _logger;
    private RateLimitWindow? _window;
    private WindowPersistence? _persistence;
    private IGrainTimer? _flushTimer;
    private long _persistedVersion;
    private Task? _runningFlush;

    private protected WindowGrainBase(IGrainRuntime runtime, IOptions<RateLimitGrainOptions> options, ILogger logger)
    {
        Clock = runtime.TimeProvider;
        _options = options.Value;
        _logger = logger;
    }

    private protected TimeProvider Clock { get; }

    private protected RateLimitWindow Window => _window ?? throw new InvalidOperationException("The window grain is not active.");

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (strategy, limit) = RateLimitWindowKey.ParseLimit(this.GetPrimaryKeyString());
        _window = RateLimitWindow.Create(strategy, limit);
        if (limit.Period <= _options.PersistenceThreshold)
        {
            return;
        }

        var storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(RateLimitGrainOptions.StorageProviderName);
        _persistence = new WindowPersistence(
            storage, GrainContext.GrainId, _options, Clock, ServiceProvider.GetRequiredService<RateLimitGrainMetrics>(), _logger);
        await _persistence.LoadAsync(_window, cancellationToken).ConfigureAwait(true);
        _persistedVersion = _window.Version;

        // Interleaved, so that admission calls keep being answered from memory while a write waits on storage (up to the
        // storage timeout, twice); the flush writes a snapshot and merges synchronously, so it tolerates hits in between.
        var interval = _options.FlushIntervalFor(limit.Period);
        _flushTimer = this.RegisterGrainTimer(
            static (self, token) => self.FlushIfDirtyAsync(token),
            this,
            new GrainTimerCreationOptions(interval, interval) { KeepAlive = false, Interleave = true });
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Disposing the timer cancels a flush it is running; a write that flush abandoned is waited for by the one below.
        _flushTimer?.Dispose();
        await WaitForRunningFlushAsync().ConfigureAwait(true);
        if (_persistence is not null && _window is not null && !InMemoryStateDiesWithThisSilo(reason))
        {
            var expiredRecord = _persistence.RecordExists && !(_window.ExpiresAt > Clock.GetUtcNow());
            if (IsDirty || expiredRecord)
            {
                await FlushAsync(cancellationToken).ConfigureAwait(true);
            }
        }
    }

    /// <summary>
    /// In-memory state lives in storage grains spread over the silos; when the last silo shuts down there is nowhere left to
    /// write it, and trying only fills the shutdown log with placement failures.
    /// </summary>
    private bool InMemoryStateDiesWithThisSilo(DeactivationReason reason)
    {
        if (reason.ReasonCode != DeactivationReasonCode.ShuttingDown || _options.RedisConnectionString is not null)
        {
            return false;
        }

        var membership = ServiceProvider.GetService<IClusterMembershipService>();
        return membership is not null && !membership.CurrentSnapshot.Members.Values.Any(member => member.Status == SiloStatus.Active);
    }

    private protected WindowDecision HitWindow(int cost)
    {
        var now = Clock.GetUtcNow();
        var allowed = Window.Hit(now, cost);
        return new WindowDecision(allowed, Window.Stats(now));
    }

    private protected WindowDecision TestWindow(int cost)
    {
        var now = Clock.GetUtcNow();
        return new WindowDecision(Window.Test(now, cost), Window.Stats(now));
    }

    private protected WindowStats WindowStatsNow() => Window.Stats(Clock.GetUtcNow());

    private protected async ValueTask ClearWindowAsync()
    {
        // A running flush could still merge stored counts back into the window, so the clear waits for it. Meanwhile only
        // timer ticks run here (this call does not interleave with other calls), and they skip while a flush runs.
        await WaitForRunningFlushAsync().ConfigureAwait(true);
        Window.Clear();
        if (_persistence is not null)
        {
            _persistence.ReplaceStoredOnNextWrite();
            await FlushAsync(CancellationToken.None).ConfigureAwait(true);
        }
    }

    /// <summary>Whether the window changed since it was last read from or written to storage.</summary>
    private bool IsDirty => _window is not null && _window.Version != _persistedVersion;

    private Task FlushIfDirtyAsync(CancellationToken cancellationToken) =>
        IsDirty && _runningFlush is null ? FlushAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>Starts a flush; the caller makes sure none is running (one at a time, so their writes keep their order).</summary>
    private Task FlushAsync(CancellationToken cancellationToken)
    {
        var flush = FlushExclusiveAsync(cancellationToken);
        if (!flush.IsCompleted)
        {
            _runningFlush = flush;
        }

        return flush;
    }

    private async Task FlushExclusiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await _persistence!.FlushAsync(Window, cancellationToken).ConfigureAwait(true) is { } written)
            {
                // The version of the snapshot written, not the window's now: hits that interleaved with the write stay dirty.
                _persistedVersion = written;
            }
        }
        finally
        {
            _runningFlush = null;
        }
    }

    /// <summary>Waits until no flush runs, whatever its outcome (a grain scheduler's continuation, so no lock is needed).</summary>
    private async Task WaitForRunningFlushAsync()
    {
        while (_runningFlush is { } running)
        {
            await running.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
