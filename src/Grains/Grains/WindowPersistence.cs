using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// Reads a window from grain storage once, at activation, and writes it behind: on a timer when dirty and at deactivation.
/// A write that meets another writer's ETag re-reads and merges instead of failing the grain.
/// </summary>
internal sealed class WindowPersistence(
    IGrainStorage storage, GrainId grainId, RateLimitGrainOptions options, TimeProvider time, RateLimitGrainMetrics metrics, ILogger logger)
{
    private const int MaxWriteAttempts = 3;

    private readonly string _grainType = grainId.Type.ToString()!;
    private GrainState<WindowGrainState> _state = new(new WindowGrainState());
    private IReadOnlyList<WindowBucket> _baseline = [];
    private bool _replaceStored;
    private PendingWrite? _pendingWrite;

    /// <summary>Whether storage holds a record for this window, as far as this activation knows.</summary>
    public bool RecordExists => _state.RecordExists;

    /// <summary>
    /// Loads the stored window into <paramref name="window"/>. When storage cannot be read in time the window starts empty, and
    /// its first write merges with whatever storage holds by then.
    /// </summary>
    public async Task LoadAsync(RateLimitWindow window, CancellationToken cancellationToken)
    {
        var stored = await TryReadAsync(cancellationToken).ConfigureAwait(true);
        if (stored is null)
        {
            return;
        }

        _state = stored;
        window.Restore(BucketsOf(stored), time.GetUtcNow());
        _baseline = window.Save();
    }

    /// <summary>The next write replaces whatever storage holds rather than merging with it (after a clear).</summary>
    public void ReplaceStoredOnNextWrite() => _replaceStored = true;

    /// <summary>Writes the window, or deletes its record when nothing in it matters any more.</summary>
    /// <remarks>
    /// Grain calls interleave with the awaits in here, so hits may arrive while a write waits on storage. What is written is a
    /// snapshot; the version returned is that snapshot's, so hits that arrived meanwhile stay dirty. A conflict merges against
    /// the window as it is when the stored record has been read, with no await between taking its buckets and restoring it,
    /// so a hit that interleaved is neither lost nor counted twice.
    /// </remarks>
    /// <returns>The window version storage now holds, or <see langword="null"/> when the write failed.</returns>
    public async Task<long?> FlushAsync(RateLimitWindow window, CancellationToken cancellationToken)
    {
        await AdoptLateWriteAsync(cancellationToken).ConfigureAwait(true);
        for (var attempt = 1; attempt <= MaxWriteAttempts; attempt++)
        {
            var now = time.GetUtcNow();
            var version = window.Version;
            var local = window.Save();
            try
            {
                if (window.ExpiresAt is { } expiresAt && expiresAt > now)
                {
                    await WriteAsync(WindowGrainState.From(local, expiresAt), local, clear: false, cancellationToken).ConfigureAwait(true);
                    metrics.Written();
                }
                else if (_state.RecordExists)
                {
                    await WriteAsync(new WindowGrainState(), [], clear: true, cancellationToken).ConfigureAwait(true);
                    metrics.Written();
                }

                _replaceStored = false;
                return version;
            }
            catch (InconsistentStateException)
            {
                var stored = await TryReadAsync(cancellationToken).ConfigureAwait(true);
                if (stored is null)
                {
                    return null;
                }

                if (!stored.RecordExists && _state.RecordExists)
                {
                    // The record is gone (the storage lost its data, e.g. Redis restarted empty): merging against it would
                    // subtract what was written before the loss, so the window is written again whole.
                    _state = stored;
                    _baseline = [];
                    continue;
                }

                // From here to the restore nothing awaits: hits that arrived since the snapshot are in the window's current
                // buckets, and no hit can arrive between reading them and replacing them.
                var storedBuckets = BucketsOf(stored);
                if (!_replaceStored)
                {
                    window.Restore(WindowMerge.Merge(storedBuckets, window.Save(), _baseline), time.GetUtcNow());
                }

                _state = stored;
                _baseline = storedBuckets;
                metrics.ConflictMerged();
                GrainLog.ConflictMerged(logger, grainId);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                metrics.WriteFailed();
                GrainLog.StorageWriteFailed(logger, grainId, exception);
                return null;
            }
        }

        metrics.WriteFailed();
        GrainLog.ConflictUnresolved(logger, grainId, MaxWriteAttempts);
        return null;
    }

    /// <summary>
    /// Writes (or clears) through a copy of the state, so that a write that times out cannot change the state in use when it
    /// completes later; <see cref="AdoptLateWriteAsync"/> takes its result then.
    /// </summary>
    private async Task WriteAsync(WindowGrainState state, IReadOnlyList<WindowBucket> buckets, bool clear, CancellationToken cancellationToken)
    {
        var attempt = new GrainState<WindowGrainState>(state, _state.ETag) { RecordExists = _state.RecordExists };
        var write = clear
            ? storage.ClearStateAsync(_grainType, grainId, attempt)
            : storage.WriteStateAsync(_grainType, grainId, attempt);
        try
        {
            await write.WaitAsync(options.StorageTimeout, time, cancellationToken).ConfigureAwait(true);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            // Abandoned, not failed: the write may still land (also when the wait was cancelled, as a flush is when its
            // grain deactivates), and the next flush must know which ETag and contents it would leave behind.
            _pendingWrite = new PendingWrite(write, attempt, buckets);
            throw;
        }

        _state = attempt;
        _baseline = buckets;
    }

    /// <summary>
    /// A write that timed out may still land. Waiting for it (once more, at most <see cref="RateLimitGrainOptions.StorageTimeout"/>)
    /// lets the next write build on its ETag and contents exactly; if it never lands, the next write may meet it as a conflict
    /// and merge, counting the hits since the last known write twice (never losing one).
    /// </summary>
    private async Task AdoptLateWriteAsync(CancellationToken cancellationToken)
    {
        if (_pendingWrite is not { } pending)
        {
            return;
        }

        try
        {
            await pending.Task.WaitAsync(options.StorageTimeout, time, cancellationToken).ConfigureAwait(true);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Kept, so that the flush after this one (the one at deactivation) waits for the write in turn.
            throw;
        }
        catch (Exception)
        {
            // Failed or still pending: proceed with what is known; a conflict, if any, merges.
            _pendingWrite = null;
            return;
        }

        _pendingWrite = null;
        _state = pending.State;
        _baseline = pending.Buckets;
    }

    private static IReadOnlyList<WindowBucket> BucketsOf(GrainState<WindowGrainState> state) =>
        state.State?.ToBuckets() ?? [];

    private async Task<GrainState<WindowGrainState>?> TryReadAsync(CancellationToken cancellationToken)
    {
        // A fresh state object per read: a read that times out and completes later must not touch the state in use.
        var fresh = new GrainState<WindowGrainState>(new WindowGrainState());
        try
        {
            await storage.ReadStateAsync(_grainType, grainId, fresh)
                .WaitAsync(options.StorageTimeout, time, cancellationToken)
                .ConfigureAwait(true);
            return fresh;
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics.ReadFailed();
            GrainLog.StorageReadFailed(logger, grainId, exception);
            return null;
        }
    }
}
