namespace Orleans.RateLimit.AspNetCore;

/// <summary>An exemption added by the <c>ExemptFromRateLimits</c> endpoint convention.</summary>
internal sealed class RateLimitExemptionMetadata(ExemptionScope scope, object? group) : IRateLimitExemptionMetadata
{
    public object? Group { get; } = group;

    public ExemptionScope Scope { get; } = scope;

    public override string ToString() => $"RateLimitExempt {Scope}";
}
