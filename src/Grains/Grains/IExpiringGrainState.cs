namespace Orleans.RateLimit.Grains;

/// <summary>Grain state that knows when it stops mattering, so a storage that supports expiry can drop it then.</summary>
internal interface IExpiringGrainState
{
    DateTimeOffset? ExpiresAt { get; }
}
