using System.Globalization;
using Orleans.RateLimit.Grains;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// Grain storage for the rate-limit grains in the cluster's memory, spread over <see cref="Shards"/> store grains by a hash
/// of the grain id that every silo computes alike. Each entry expires just after its window ends (plus
/// <see cref="RateLimitGrainOptions.ExpiryGrace"/>), as Redis keys do, so state nobody reads again does not stay forever.
/// One state per grain: the state name is not part of the key.
/// </summary>
internal sealed class WindowStateMemoryStorage(IGrainFactory grains, Serializer serializer, RateLimitGrainOptions options) : IGrainStorage
{
    /// <summary>A shard serves one call at a time; 16 spread a flood's reads and writes over every silo and core.</summary>
    internal const int Shards = 16;

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var stored = await ShardFor(grainId).Read(grainId).ConfigureAwait(false);
        if (stored is null)
        {
            return;
        }

        grainState.State = serializer.Deserialize<T>(stored.Data);
        grainState.ETag = Format(stored.ETag);
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var expiresAt = grainState.State is IExpiringGrainState { ExpiresAt: { } end } ? end + options.ExpiryGrace : (DateTimeOffset?)null;
        var result = await ShardFor(grainId)
            .Write(grainId, serializer.SerializeToArray(grainState.State), Parse(grainState.ETag), expiresAt)
            .ConfigureAwait(false);
        ThrowIfRefused(result, grainState.ETag);
        grainState.ETag = Format(result.ETag);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var result = await ShardFor(grainId).Delete(grainId, Parse(grainState.ETag)).ConfigureAwait(false);
        ThrowIfRefused(result, grainState.ETag);
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    /// <summary>How many window states the cluster's memory holds, expired ones until they are swept; for tests and diagnostics.</summary>
    internal static async Task<int> CountAsync(IGrainFactory grains)
    {
        var counts = await Task.WhenAll(Enumerable.Range(0, Shards).Select(shard => grains.GetGrain<IWindowStateStoreGrain>(shard).Count()))
            .ConfigureAwait(false);
        return counts.Sum();
    }

    /// <summary>The store grain that holds <paramref name="grainId"/>'s state; a stable hash, so every silo picks the same.</summary>
    internal static long ShardOf(GrainId grainId) => grainId.GetUniformHashCode() % Shards;

    private IWindowStateStoreGrain ShardFor(GrainId grainId) => grains.GetGrain<IWindowStateStoreGrain>(ShardOf(grainId));

    private static void ThrowIfRefused(WindowStoreResult result, string? etag)
    {
        if (!result.Accepted)
        {
            throw new InconsistentStateException("The stored window state was written by another activation.", Format(result.ETag), etag);
        }
    }

    private static string Format(long etag) => etag.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>An ETag this storage never issued matches nothing stored, so such a write meets a conflict and re-reads.</summary>
    private static long? Parse(string? etag) =>
        etag is null ? null : long.TryParse(etag, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value) ? value : long.MinValue;
}
