namespace Orleans.RateLimit.AspNetCore;

/// <summary>Endpoint metadata that exempts the endpoint, or every endpoint of a route group, from some limits.</summary>
internal interface IRateLimitExemptionMetadata
{
    /// <summary>The route group builder the exemption was put on; <see langword="null"/> when it is the endpoint's own.</summary>
    object? Group { get; }

    ExemptionScope Scope { get; }
}
