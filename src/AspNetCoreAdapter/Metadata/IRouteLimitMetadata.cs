namespace Orleans.RateLimit.AspNetCore;

/// <summary>Endpoint metadata that adds a limit to the endpoint, or to every endpoint of a route group.</summary>
internal interface IRouteLimitMetadata
{
    /// <summary>The route group builder the limit was put on; <see langword="null"/> when it is the endpoint's own.</summary>
    object? Group { get; }

    /// <summary>The limit; builds it on first use, so that a malformed attribute fails when the plan is built.</summary>
    LimitDefinition GetDefinition();
}
