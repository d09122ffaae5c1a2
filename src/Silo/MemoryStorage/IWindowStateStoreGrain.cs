namespace Orleans.RateLimit.Silo;

/// <summary>
/// One shard of the cluster's in-memory window state: the stored state of the window grains whose ids hash to it, each
/// entry forgotten once its window has ended.
/// </summary>
[Alias("orl.IWindowStateStoreGrain")]
internal interface IWindowStateStoreGrain : IGrainWithIntegerKey
{
    /// <summary>The state stored for <paramref name="grainId"/>, or <see langword="null"/> when there is none (or it expired).</summary>
    [Alias("Read")]
    Task<StoredWindowState?> Read(GrainId grainId);

    /// <summary>
    /// Stores <paramref name="data"/> for <paramref name="grainId"/> if <paramref name="etag"/> is the stored entry's (any
    /// ETag is accepted when there is no entry), to be forgotten after <paramref name="expiresAt"/> unless written again.
    /// </summary>
    [Alias("Write")]
    Task<WindowStoreResult> Write(GrainId grainId, byte[] data, long? etag, DateTimeOffset? expiresAt);

    /// <summary>Removes the entry of <paramref name="grainId"/> if <paramref name="etag"/> is its ETag (or there is none).</summary>
    [Alias("Delete")]
    Task<WindowStoreResult> Delete(GrainId grainId, long? etag);

    /// <summary>How many entries this shard holds, expired ones included until they are swept; for tests and diagnostics.</summary>
    [Alias("Count")]
    Task<int> Count();
}
