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
    /// <returns><see langword="true"/> when storage now holds this window.</returns>
    public async Task<bool> FlushAsync(RateLimitWindow window, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxWriteAttempts; attempt++)
        {
            var now = time.GetUtcNow();
            var local = window.Save();
            try
            {
                if (window.ExpiresAt is { } expiresAt && expiresAt > now)
                {
                    _state.State = WindowGrainState.From(local, expiresAt);
                    await storage.WriteStateAsync(_grainType, grainId, _state).ConfigureAwait(true);
                }
                else if (_state.RecordExists)
                {
                    await storage.ClearStateAsync(_grainType, grainId, _state).ConfigureAwait(true);
                }

                _baseline = local;
                _replaceStored = false;
                metrics.Written();
                return true;
            }
            catch (InconsistentStateException)
            {
                var stored = await TryReadAsync(cancellationToken).ConfigureAwait(true);
                if (stored is null)
                {
                    return false;
                }

                var storedBuckets = BucketsOf(stored);
                if (!_replaceStored)
                {
                    window.Restore(WindowMerge.Merge(storedBuckets, local, _baseline), now);
                }

                _state = stored;
                _baseline = storedBuckets;
                metrics.ConflictMerged();
                GrainLog.ConflictMerged(logger, grainId);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                metrics.WriteFailed();
                GrainLog.StorageWriteFailed(logger, grainId, exception);
                return false;
            }
        }

        metrics.WriteFailed();
        GrainLog.ConflictUnresolved(logger, grainId, MaxWriteAttempts);
        return false;
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
                .WaitAsync(options.StorageReadTimeout, time, cancellationToken)
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
