namespace Orleans.RateLimit.Silo;

/// <summary>
/// What a store shard did with a write or delete: accepted, with the entry's new ETag; or refused, because the caller's
/// ETag is not the stored one (<see cref="ETag"/> is then the stored ETag).
/// </summary>
[GenerateSerializer, Immutable, Alias("orl.WindowStoreResult")]
internal readonly record struct WindowStoreResult([property: Id(0)] bool Accepted, [property: Id(1)] long ETag);
