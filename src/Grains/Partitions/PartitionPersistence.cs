using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// Write-behind for the persisted windows of one partition: loads the partition's stored windows once, when it activates,
/// hands each to the window that claims it, and writes dirty windows in one round trip per flush, each when its own
/// interval (a twentieth of its period, within bounds) has passed since it changed.
/// </summary>
/// <remarks>
/// One write is in flight at a time, so writes keep their order. Grain calls interleave with a flush: what is written is a
/// snapshot, and a window whose version moved on meanwhile stays dirty. A write that outlasts the storage timeout is left in
/// flight; no other write starts until it ends, and its results are applied then, so a late write is never mistaken for
/// another writer's. A conflict merges the stored counts with what this copy counted since its baseline, never losing a hit.
/// </remarks>
internal sealed class PartitionPersistence(
    IWindowPartitionStorage storage,
    WindowPartition partition,
    RateLimitGrainOptions options,
    TimeProvider clock,
    RateLimitGrainMetrics metrics,
    ILogger logger)
{
    /// <summary>The most windows one write carries.</summary>
    public const int MaxWindowsPerWrite = 2_000;

    private readonly Dictionary<WindowRef, PersistedWindow> _tracked = [];
    private readonly HashSet<WindowRef> _dirty = [];
    private Dictionary<string, StoredWindow>? _unclaimed;
    private InFlightWrite? _inFlight;

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        // Cancelled, not merely left behind, when the storage timeout passes: a late answer would not be used, and the
        // storage then counts and logs the load as failed, once, as it does any other failure.
        using var timeout = new CancellationTokenSource(options.StorageTimeout, clock);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var stored = await storage.LoadAsync(partition, call.Token).ConfigureAwait(true);
            _unclaimed = new Dictionary<string, StoredWindow>(stored.Count, StringComparer.Ordinal);
            foreach (var window in stored)
            {
                _unclaimed[window.Id] = window;
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Windows start empty; a write that meets a stored record conflicts and merges with it, so nothing is lost. The
            // storage has counted and logged the failure.
        }
    }

    /// <summary>Starts tracking a window that was just created, restoring what storage held for it.</summary>
    public void Track(WindowRef id, RateLimitWindow window, DateTimeOffset now)
    {
        var tracked = new PersistedWindow(id.ToKey().ToStorageKey());
        if (_unclaimed is not null && _unclaimed.Remove(tracked.StorageId, out var stored))
        {
            window.Restore(stored.Buckets, now);
            tracked.ETag = stored.ETag;
            tracked.Baseline = window.Save();
            if (_unclaimed.Count == 0)
            {
                _unclaimed = null;
            }
        }

        tracked.PersistedVersion = window.Version;
        _tracked.Add(id, tracked);
    }

    /// <summary>Whether storage holds a record for <paramref name="id"/> that no window has claimed yet.</summary>
    public bool HasUnclaimed(WindowRef id) => _unclaimed is { } unclaimed && unclaimed.ContainsKey(id.ToKey().ToStorageKey());

    /// <summary>How many windows have changes storage lacks.</summary>
    public int DirtyCount => _dirty.Count;

    /// <summary>How many flushes writing everything dirty takes, conflicts aside.</summary>
    public int FlushesForAllDirty => (_dirty.Count + MaxWindowsPerWrite - 1) / MaxWindowsPerWrite;

    /// <summary>Notes that a tracked window may have changed.</summary>
    public void Touched(WindowRef id, DateTimeOffset now)
    {
        if (_tracked.TryGetValue(id, out var tracked) && tracked.DirtySinceTicks == PersistedWindow.Clean)
        {
            tracked.DirtySinceTicks = now.UtcTicks;
            _dirty.Add(id);
        }
    }

    /// <summary>Marks a window cleared: its record is replaced at the next flush, whatever storage holds.</summary>
    public void Cleared(WindowRef id, DateTimeOffset now)
    {
        if (_tracked.TryGetValue(id, out var tracked))
        {
            tracked.Replace = true;
            Touched(id, now);
            tracked.DirtySinceTicks = long.MinValue;
        }
    }

    /// <summary>Stops tracking a window the partition dropped (it expired); storage forgets it at its expiry by itself.</summary>
    public void Forget(WindowRef id)
    {
        if (_tracked.Remove(id, out var tracked) && tracked.DirtySinceTicks != PersistedWindow.Clean)
        {
            _dirty.Remove(id);
        }
    }

    /// <summary>Drops stored windows nobody claimed that have ended.</summary>
    public void SweepUnclaimed(DateTimeOffset now)
    {
        if (_unclaimed is null)
        {
            return;
        }

        foreach (var (id, stored) in _unclaimed)
        {
            if (stored.ExpiresAt <= now)
            {
                _unclaimed.Remove(id);
            }
        }

        if (_unclaimed.Count == 0)
        {
            _unclaimed = null;
        }
    }

    /// <summary>Waits until no write is in flight, up to the storage timeout, and applies its results.</summary>
    public async Task WaitForInFlightAsync(Func<WindowRef, RateLimitWindow?> windows)
    {
        if (_inFlight is not { } flight)
        {
            return;
        }

        await ((Task)flight.Task).WaitAsync(options.StorageTimeout, clock)
            .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        if (flight.Task.IsCompleted && ReferenceEquals(_inFlight, flight))
        {
            Apply(flight, windows);
        }
    }

    /// <summary>Writes the dirty windows whose interval has passed (all dirty windows when <paramref name="all"/>).</summary>
    public async Task FlushAsync(Func<WindowRef, RateLimitWindow?> windows, bool all, CancellationToken cancellationToken)
    {
        if (_inFlight is { } previous)
        {
            if (!previous.Task.IsCompleted)
            {
                return;
            }

            Apply(previous, windows);
        }

        var now = clock.GetUtcNow();
        var batch = Collect(windows, all, now);
        if (batch.Count == 0)
        {
            return;
        }

        var writes = new WindowWrite[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            writes[i] = batch[i].Write;
        }

        var flight = new InFlightWrite(storage.WriteAsync(partition, writes, cancellationToken), batch);
        _inFlight = flight;
        try
        {
            await flight.Task.WaitAsync(options.StorageTimeout, clock, cancellationToken).ConfigureAwait(true);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            // Left in flight: it may still land, and its results are applied when it ends, before any other write starts.
            return;
        }
#pragma warning disable CA1031 // Counted and logged by the storage; the windows stay dirty and are written at the next flush.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        if (ReferenceEquals(_inFlight, flight))
        {
            Apply(flight, windows);
        }
    }

    /// <summary>
    /// The dirty windows that are due, at most <see cref="MaxWindowsPerWrite"/>: one script holds Redis for its whole batch,
    /// so a partition with more waits for the next tick with the rest.
    /// </summary>
    private List<PendingWindowWrite> Collect(Func<WindowRef, RateLimitWindow?> windows, bool all, DateTimeOffset now)
    {
        var batch = new List<PendingWindowWrite>();
        List<WindowRef>? clean = null;
        foreach (var id in _dirty)
        {
            if (batch.Count == MaxWindowsPerWrite)
            {
                break;
            }

            var tracked = _tracked[id];
            if (windows(id) is not { } window)
            {
                continue;
            }

            if (window.Version == tracked.PersistedVersion && !tracked.Replace)
            {
                tracked.DirtySinceTicks = PersistedWindow.Clean;
                (clean ??= []).Add(id);
                continue;
            }

            var interval = options.FlushIntervalFor(window.Limit.Period);
            // Compared this way round because a window due at once is dirty since long.MinValue, which the difference overflows.
            if (!all && tracked.DirtySinceTicks > now.UtcTicks - interval.Ticks)
            {
                continue;
            }

            var buckets = window.Save();
            var live = window.ExpiresAt is { } end && end > now;
            if (!live && tracked.ETag == 0 && !tracked.Replace)
            {
                // Nothing stored and nothing worth storing.
                tracked.PersistedVersion = window.Version;
                continue;
            }

            var write = new WindowWrite(
                tracked.StorageId,
                tracked.ETag,
                live ? buckets : [],
                live ? window.ExpiresAt + options.ExpiryGrace : null,
                tracked.Replace);
            batch.Add(new PendingWindowWrite(id, write, window.Version));
        }

        if (clean is not null)
        {
            _dirty.ExceptWith(clean);
        }

        return batch;
    }

    private void Apply(InFlightWrite flight, Func<WindowRef, RateLimitWindow?> windows)
    {
        _inFlight = null;
        if (!flight.Task.IsCompletedSuccessfully)
        {
            // Counted and logged by the storage; the windows stay dirty and go with the next flush.
            return;
        }

        var results = flight.Task.Result;
        var now = clock.GetUtcNow();
        for (var i = 0; i < flight.Batch.Count && i < results.Count; i++)
        {
            var (id, write, version) = flight.Batch[i];
            if (!_tracked.TryGetValue(id, out var tracked) || windows(id) is not { } window)
            {
                continue;
            }

            var result = results[i];
            if (result.Written)
            {
                metrics.Written();
                tracked.ETag = result.ETag;
                tracked.Baseline = write.Buckets;
                tracked.PersistedVersion = version;
                tracked.Replace &= !write.Replace;
                if (window.Version == version && !tracked.Replace)
                {
                    tracked.DirtySinceTicks = PersistedWindow.Clean;
                    _dirty.Remove(id);
                }

                continue;
            }

            if (result.ETag == 0 && tracked.ETag != 0)
            {
                // The record is gone (storage lost its data, e.g. Redis restarted empty): merging against nothing would
                // subtract what was written before the loss, so the window is written again whole.
                tracked.ETag = 0;
                tracked.Baseline = [];
                tracked.DirtySinceTicks = long.MinValue;
                continue;
            }

            // Another activation wrote this window. Nothing awaits between reading the window's buckets and restoring them,
            // so a hit that arrived during the write is neither lost nor counted twice.
            if (!tracked.Replace)
            {
                window.Restore(WindowMerge.Merge(result.Stored, window.Save(), tracked.Baseline), now);
            }

            tracked.ETag = result.ETag;
            tracked.Baseline = result.Stored;
            tracked.DirtySinceTicks = long.MinValue;
            metrics.ConflictMerged();
            GrainLog.ConflictMerged(logger, partition, tracked.StorageId);
        }
    }

    private readonly record struct PendingWindowWrite(WindowRef Id, WindowWrite Write, long Version);

    private sealed record InFlightWrite(Task<IReadOnlyList<WindowWriteResult>> Task, List<PendingWindowWrite> Batch);
}
