namespace Orleans.RateLimit.Silo;

/// <summary>A window grain's state as a store shard holds it: serialized, with its ETag.</summary>
[GenerateSerializer, Immutable, Alias("orl.StoredWindowState")]
internal sealed record StoredWindowState([property: Id(0)] byte[] Data, [property: Id(1)] long ETag);
