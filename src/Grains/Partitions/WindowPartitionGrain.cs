using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// Owns the windows of one partition. It stays active while its silo runs (its windows live nowhere else when state is
/// kept in memory), and a timer sweeps windows whose counts have all aged out, so a flood of one-off clients costs memory
/// only while their windows last.
/// </summary>
[KeepAlive]
internal sealed class WindowPartitionGrain : Grain, IWindowPartitionGrain
{
    /// <summary>
    /// How often expired windows are swept. A sweep visits each window of the partition once; a window outlives its end by
    /// at most this, which is small next to any window worth counting in a cluster.
    /// </summary>
    internal static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private const int FinalWriteAttempts = 3;

    private readonly Dictionary<WindowRef, RateLimitWindow> _windows = [];
    private readonly PartitionLeases _leases = new();
    private readonly WindowPartsCache _parts = new();
    private readonly RateLimitGrainOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<WindowPartitionGrain> _logger;
    private readonly Func<WindowRef, RateLimitWindow?> _find;
    private PartitionPersistence? _persistence;
    private IGrainTimer? _flushTimer;
    private IGrainTimer? _sweepTimer;

    public WindowPartitionGrain(IGrainRuntime runtime, IOptions<RateLimitGrainOptions> options, ILogger<WindowPartitionGrain> logger)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(options);
        _clock = runtime.TimeProvider;
        _options = options.Value;
        _logger = logger;
        _find = id => _windows.GetValueOrDefault(id);
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _sweepTimer = this.RegisterGrainTimer(
            static self => { self.Sweep(); return Task.CompletedTask; },
            this,
            new GrainTimerCreationOptions(SweepInterval, SweepInterval) { KeepAlive = false, Interleave = false });

        if (ServiceProvider.GetService<IWindowPartitionStorage>() is not { } storage)
        {
            return;
        }

        var partition = WindowPartition.FromGrainKey(this.GetPrimaryKeyLong());
        _persistence = new PartitionPersistence(
            storage, partition, _options, _clock, ServiceProvider.GetRequiredService<RateLimitGrainMetrics>(), _logger);
        await _persistence.LoadAsync(cancellationToken).ConfigureAwait(true);

        // Interleaved, so decisions keep being answered from memory while a write waits on storage; the flush writes
        // snapshots and merges without awaiting, so it tolerates hits in between.
        _flushTimer = this.RegisterGrainTimer(
            static (self, token) => self._persistence!.FlushAsync(self._find, all: false, token),
            this,
            new GrainTimerCreationOptions(_options.MinFlushInterval, _options.MinFlushInterval) { KeepAlive = false, Interleave = true });
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _sweepTimer?.Dispose();
        _flushTimer?.Dispose();
        if (_persistence is not null)
        {
            await _persistence.WaitForInFlightAsync(_find).ConfigureAwait(true);

            // A write that meets another activation's record merges in memory and must go out again, or the merge is lost.
            var flushes = _persistence.FlushesForAllDirty + FinalWriteAttempts;
            for (var flush = 0; flush < flushes && _persistence.DirtyCount > 0; flush++)
            {
                await _persistence.FlushAsync(_find, all: true, cancellationToken).ConfigureAwait(true);
            }
        }
    }

    public ValueTask<WindowDecision[]> Decide(WindowCall[] calls, CancellationToken cancellationToken) => DecideFor(Guid.Empty, calls, cancellationToken);

    public ValueTask<WindowDecision[]> DecideFor(Guid holder, WindowCall[] calls, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(calls);

        // Refused whole, before anything is counted: a batch that failed halfway would leave counts nobody was told about.
        foreach (var call in calls)
        {
            if (call.Cost < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(calls), call.Cost, "The cost of a hit must be zero or more.");
            }
        }

        var now = _clock.GetUtcNow();
        var decisions = new WindowDecision[calls.Length];
        var anyRefused = false;
        for (var i = 0; i < calls.Length; i++)
        {
            var call = calls[i];
            var decision = call.Operation switch
            {
                WindowOperation.Hit when call.LeaseSequence > 0 && holder != Guid.Empty => HitAndLease(holder, call, now),
                WindowOperation.Hit => Hit(call.Window, call.Cost, now),
                WindowOperation.Test => Test(call.Window, call.Cost, now),
                WindowOperation.Stats => new WindowDecision(true, Peek(call.Window, now)),
                WindowOperation.Lease => Lease(holder, call, now),
                WindowOperation.Release => Release(holder, call, now),
                WindowOperation.Absorb => Absorb(call, now),
                _ => throw new ArgumentOutOfRangeException(nameof(calls), call.Operation, "Unknown window operation."),
            };
            decisions[i] = decision;
            anyRefused |= !decision.Allowed;
            if (WindowCall.StopsAfter(decision.Allowed, anyRefused, call.StopIfRefused, call.StopIfAnyRefused))
            {
                Array.Resize(ref decisions, i + 1);
                break;
            }
        }

        return ValueTask.FromResult(decisions);
    }

    public Task RecordBreaches(WindowRef[] metaWindows)
    {
        ArgumentNullException.ThrowIfNull(metaWindows);
        var now = _clock.GetUtcNow();
        foreach (var meta in metaWindows)
        {
            // Breaches count with cost 1, as in the original; nobody waits for the result.
            Hit(meta, 1, now);
        }

        return Task.CompletedTask;
    }

    public async ValueTask Clear(WindowRef window)
    {
        if (_persistence is null)
        {
            // Nothing held is nothing to forget; a window is not created to be cleared.
            if (_windows.TryGetValue(window, out var inMemory))
            {
                inMemory.Clear();
            }

            return;
        }

        // With storage the window is taken (claiming what storage holds for it), so that its record is replaced too.
        var held = GetOrAdd(window, _clock.GetUtcNow());

        // A write in flight could still bring stored counts back into the window, so the clear waits for it first.
        await _persistence.WaitForInFlightAsync(_find).ConfigureAwait(true);
        held.Clear();
        _persistence.Cleared(window, _clock.GetUtcNow());
        await _persistence.FlushAsync(_find, all: false, CancellationToken.None).ConfigureAwait(true);
    }

    public ValueTask<int> Count() => ValueTask.FromResult(_windows.Count);

    private WindowDecision Hit(WindowRef id, int cost, DateTimeOffset now)
    {
        var window = GetOrAdd(id, now);
        var allowed = window.Hit(now, cost);
        _persistence?.Touched(id, now);
        return new WindowDecision(allowed, window.Stats(now));
    }

    private WindowDecision HitAndLease(Guid holder, in WindowCall call, DateTimeOffset now)
    {
        var window = GetOrAdd(call.Window, now);
        var allowed = window.Hit(now, call.Cost);
        var grant = allowed ? _leases.Grant(holder, call.Window, window, call.LeaseSequence, now) : default;
        _persistence?.Touched(call.Window, now);
        return new WindowDecision(allowed, window.Stats(now)) { Lease = grant with { WindowVersion = window.Version } };
    }

    /// <summary>A refill: a grant from a window that is running; a window nobody has opened is not opened by it.</summary>
    private WindowDecision Lease(Guid holder, in WindowCall call, DateTimeOffset now)
    {
        if (holder == Guid.Empty || call.LeaseSequence <= 0
            || !(_windows.TryGetValue(call.Window, out var window) || TryClaimStored(call.Window, now, out window)))
        {
            return new WindowDecision(true, Peek(call.Window, now));
        }

        var grant = _leases.Grant(holder, call.Window, window, call.LeaseSequence, now);
        if (!grant.IsEmpty)
        {
            _persistence?.Touched(call.Window, now);
        }

        return new WindowDecision(true, window.Stats(now)) { Lease = grant with { WindowVersion = window.Version } };
    }

    private WindowDecision Release(Guid holder, in WindowCall call, DateTimeOffset now)
    {
        if (_windows.TryGetValue(call.Window, out var window) || TryClaimStored(call.Window, now, out window))
        {
            _leases.Release(holder, call.Window, window, call.Cost, call.LeasePeriodStartTicks, now);
            _persistence?.Touched(call.Window, now);
            return new WindowDecision(true, window.Stats(now));
        }

        return new WindowDecision(true, Peek(call.Window, now));
    }

    private WindowDecision Absorb(in WindowCall call, DateTimeOffset now)
    {
        if ((_windows.TryGetValue(call.Window, out var window) || TryClaimStored(call.Window, now, out window))
            && window is ILeasableWindow leasable
            && leasable.Grant(now, 0) is { PeriodStartTicks: > 0 } running
            && running.PeriodStartTicks <= call.LeasePeriodStartTicks)
        {
            leasable.Grant(now, call.Cost);
            _persistence?.Touched(call.Window, now);
            return new WindowDecision(true, window.Stats(now));
        }

        return new WindowDecision(true, Peek(call.Window, now));
    }

    private WindowDecision Test(WindowRef id, int cost, DateTimeOffset now)
    {
        if (_windows.TryGetValue(id, out var window) || TryClaimStored(id, now, out window))
        {
            return new WindowDecision(window.Test(now, cost), window.Stats(now));
        }

        // A window nobody has hit is not created by a test: a flood of tests costs no memory.
        var empty = RateLimitWindow.Create(id.Strategy, _parts.Limit(id));
        return new WindowDecision(empty.Test(now, cost), empty.Stats(now));
    }

    private WindowStats Peek(WindowRef id, DateTimeOffset now) =>
        _windows.TryGetValue(id, out var window) || TryClaimStored(id, now, out window)
            ? window.Stats(now)
            : new WindowStats(_parts.Limit(id).Amount, now);

    /// <summary>
    /// Takes a window that storage holds but no hit has claimed since the partition loaded it, so that tests and reads see
    /// its counts (a meta limit is only ever tested).
    /// </summary>
    private bool TryClaimStored(WindowRef id, DateTimeOffset now, [NotNullWhen(true)] out RateLimitWindow? window)
    {
        window = _persistence is not null && _persistence.HasUnclaimed(id) ? GetOrAdd(id, now) : null;
        return window is not null;
    }

    private RateLimitWindow GetOrAdd(WindowRef id, DateTimeOffset now)
    {
        if (_windows.TryGetValue(id, out var window))
        {
            return window;
        }

        var limit = _parts.Limit(id);
        var held = _parts.Share(id);
        window = RateLimitWindow.Create(held.Strategy, limit);
        if (_persistence is not null && limit.Period > _options.PersistenceThreshold)
        {
            _persistence.Track(held, window, now);
        }

        _windows.Add(held, window);
        return window;
    }

    private void Sweep()
    {
        var now = _clock.GetUtcNow();
        foreach (var (id, window) in _windows)
        {
            if (window.ExpiresAt is { } expiresAt && expiresAt > now)
            {
                continue;
            }

            _windows.Remove(id);
            _leases.Forget(id);
            _persistence?.Forget(id);
        }

        _leases.Sweep(now);

        _persistence?.SweepUnclaimed(now);

        // After a flood the table keeps the size it grew to; give it back once most of it is empty.
        if (_windows.Count < _windows.EnsureCapacity(0) / 4)
        {
            _windows.TrimExcess();
        }

        GrainLog.Swept(_logger, _windows.Count);
    }

    /// <summary>
    /// Shares the parts many windows repeat (limits, scopes, prefixes), so that each window held costs its client key and its
    /// counters, not copies of strings every call deserializes anew.
    /// </summary>
    private sealed class WindowPartsCache
    {
        private const int MaxShared = 4_096;
        private readonly Dictionary<(long, int, int), RateLimitItem> _limits = [];
        private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

        public RateLimitItem Limit(WindowRef id)
        {
            ref var limit = ref CollectionsMarshal.GetValueRefOrAddDefault(_limits, (id.Amount, id.Multiples, id.GranularitySeconds), out var exists);
            if (!exists)
            {
                limit = id.ToLimit();
            }

            return limit!;
        }

        public WindowRef Share(WindowRef id) => id with { Prefix = Share(id.Prefix), Scope = Share(id.Scope) };

        private string Share(string value)
        {
            if (_strings.TryGetValue(value, out var shared))
            {
                return shared;
            }

            if (_strings.Count < MaxShared)
            {
                _strings.Add(value, value);
            }

            return value;
        }
    }
}
