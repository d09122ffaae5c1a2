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

        var interval = _options.FlushIntervalFor(limit.Period);
        _flushTimer = this.RegisterGrainTimer(
            static (self, token) => self.FlushIfDirtyAsync(token),
            this,
            new GrainTimerCreationOptions(interval, interval) { KeepAlive = false, Interleave = false });
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _flushTimer?.Dispose();
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
        Window.Clear();
        if (_persistence is not null)
        {
            _persistence.ReplaceStoredOnNextWrite();
            await FlushAsync(CancellationToken.None).ConfigureAwait(true);
        }
    }

    /// <summary>Whether the window changed since it was last read from or written to storage.</summary>
    private bool IsDirty => _window is not null && _window.Version != _persistedVersion;

    private async Task FlushIfDirtyAsync(CancellationToken cancellationToken)
    {
        if (IsDirty)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(true);
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        // No grain call interleaves with a flush, so the version after a successful write is the one written (a merge
        // restores the window inside the flush and is part of what was written).
        if (await _persistence!.FlushAsync(Window, cancellationToken).ConfigureAwait(true))
        {
            _persistedVersion = Window.Version;
        }
    }
}
