using System.Security.Cryptography;
using Orleans.Runtime;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// A store shard. Unlike Orleans' memory storage, which keeps a tombstone for every state it ever cleared and never forgets
/// a state nobody clears, it removes cleared entries and sweeps expired ones, so a flood of unique clients costs memory only
/// until their windows end. It stays active while the silo runs (its entries live nowhere else).
/// </summary>
[KeepAlive]
internal sealed class WindowStateStoreGrain : Grain, IWindowStateStoreGrain
{
    /// <summary>
    /// How often expired entries are swept. Reads never return an expired entry, so this only bounds how long memory is
    /// held after a window ends (as the in-process store's sweep does); a sweep visits each entry of the shard once.
    /// </summary>
    internal static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly Dictionary<GrainId, Entry> _entries = [];
    private readonly TimeProvider _clock;

    // Starts anywhere, so that an ETag from an earlier activation of this shard (lost with its silo) cannot match by chance.
    private long _lastETag = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(sizeof(long)));

    public WindowStateStoreGrain(IGrainRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _clock = runtime.TimeProvider;
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(
            static self => { self.Sweep(); return Task.CompletedTask; },
            this,
            new GrainTimerCreationOptions(SweepInterval, SweepInterval) { KeepAlive = false, Interleave = false });
        return Task.CompletedTask;
    }

    public Task<StoredWindowState?> Read(GrainId grainId) =>
        Task.FromResult(TryGetLive(grainId, out var entry) ? new StoredWindowState(entry.Data, entry.ETag) : null);

    public Task<WindowStoreResult> Write(GrainId grainId, byte[] data, long? etag, DateTimeOffset? expiresAt)
    {
        if (TryGetLive(grainId, out var stored) && stored.ETag != etag)
        {
            return Task.FromResult(new WindowStoreResult(false, stored.ETag));
        }

        var written = new Entry(data, ++_lastETag, expiresAt?.UtcTicks ?? long.MaxValue);
        _entries[grainId] = written;
        return Task.FromResult(new WindowStoreResult(true, written.ETag));
    }

    public Task<WindowStoreResult> Delete(GrainId grainId, long? etag)
    {
        if (TryGetLive(grainId, out var stored))
        {
            if (stored.ETag != etag)
            {
                return Task.FromResult(new WindowStoreResult(false, stored.ETag));
            }

            _entries.Remove(grainId);
        }

        return Task.FromResult(new WindowStoreResult(true, 0));
    }

    public Task<int> Count() => Task.FromResult(_entries.Count);

    /// <summary>An entry that has not expired; an expired one found on the way is removed.</summary>
    private bool TryGetLive(GrainId grainId, out Entry entry)
    {
        if (!_entries.TryGetValue(grainId, out entry))
        {
            return false;
        }

        if (entry.ExpiresAtTicks > _clock.GetUtcNow().UtcTicks)
        {
            return true;
        }

        _entries.Remove(grainId);
        return false;
    }

    private void Sweep()
    {
        var now = _clock.GetUtcNow().UtcTicks;
        foreach (var (grainId, entry) in _entries)
        {
            if (entry.ExpiresAtTicks <= now)
            {
                _entries.Remove(grainId);
            }
        }

        // After a flood the table keeps the size it grew to; give it back once most of it is empty.
        if (_entries.Count < _entries.EnsureCapacity(0) / 4)
        {
            _entries.TrimExcess();
        }
    }

    private readonly record struct Entry(byte[] Data, long ETag, long ExpiresAtTicks);
}
