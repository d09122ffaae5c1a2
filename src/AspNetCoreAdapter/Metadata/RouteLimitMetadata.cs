namespace Orleans.RateLimit.AspNetCore;

/// <summary>A limit added by the <c>RateLimit</c>/<c>SharedRateLimit</c> endpoint conventions.</summary>
internal sealed class RouteLimitMetadata(LimitDefinition definition, object? group) : IRouteLimitMetadata
{
    public object? Group { get; } = group;

    public LimitDefinition GetDefinition() => definition;

    public override string ToString() => $"RateLimit {definition.Value}";
}
