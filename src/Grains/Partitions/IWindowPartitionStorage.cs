namespace Orleans.RateLimit.Grains;

/// <summary>
/// Where a window partition writes its windows behind: every window of one partition is loaded in one round trip when the
/// partition activates, and every write of one flush goes in one round trip. Each window carries its own ETag, so two
/// activations of one partition (possible for a moment during cluster churn) detect each other per window and merge.
/// </summary>
internal interface IWindowPartitionStorage
{
    /// <summary>Every window of <paramref name="partition"/> that has not expired.</summary>
    /// <remarks>
    /// The partition cancels a load once it stops waiting for it (after the storage timeout): the call must end then, as a
    /// failure the storage counts and logs like any other, since the partition neither counts nor logs it.
    /// </remarks>
    Task<IReadOnlyList<StoredWindow>> LoadAsync(WindowPartition partition, CancellationToken cancellationToken);

    /// <summary>
    /// Applies <paramref name="writes"/> in one round trip. A write whose expected ETag does not match what is stored changes
    /// nothing and comes back as a conflict, with what is stored, so the caller can merge and write again.
    /// </summary>
    /// <returns>One result per write, in the order of <paramref name="writes"/>.</returns>
    Task<IReadOnlyList<WindowWriteResult>> WriteAsync(
        WindowPartition partition, IReadOnlyList<WindowWrite> writes, CancellationToken cancellationToken);
}

/// <summary>A window as storage holds it.</summary>
/// <param name="Id">The window's storage id (<see cref="RateLimitWindowKey.ToStorageKey"/>).</param>
/// <param name="ETag">Changes with every write of this window; never 0.</param>
/// <param name="Buckets">The window's counts.</param>
/// <param name="ExpiresAt">When storage forgets the window; <see cref="DateTimeOffset.MaxValue"/> when it does not say.</param>
internal sealed record StoredWindow(string Id, long ETag, IReadOnlyList<WindowBucket> Buckets, DateTimeOffset ExpiresAt)
{
    /// <summary>A stored window whose expiry storage does not tell.</summary>
    public StoredWindow(string id, long eTag, IReadOnlyList<WindowBucket> buckets)
        : this(id, eTag, buckets, DateTimeOffset.MaxValue)
    {
    }
}

/// <summary>One window to write, or to delete when <paramref name="ExpiresAt"/> is <see langword="null"/>.</summary>
/// <param name="Id">The window's storage id.</param>
/// <param name="ExpectedETag">The ETag the writer last saw; 0 when it believes storage holds nothing for this window.</param>
/// <param name="Buckets">The counts to store.</param>
/// <param name="ExpiresAt">When storage may forget the window (its end plus a grace); <see langword="null"/> deletes it.</param>
/// <param name="Replace">Write whatever storage holds (after a clear): no ETag check.</param>
internal sealed record WindowWrite(string Id, long ExpectedETag, IReadOnlyList<WindowBucket> Buckets, DateTimeOffset? ExpiresAt, bool Replace = false);

/// <summary>What became of one <see cref="WindowWrite"/>.</summary>
/// <param name="Written">Whether storage took the write.</param>
/// <param name="ETag">The window's ETag in storage now (0 when storage holds nothing for it).</param>
/// <param name="Stored">On a conflict, what storage holds; empty otherwise.</param>
internal sealed record WindowWriteResult(bool Written, long ETag, IReadOnlyList<WindowBucket> Stored);
