using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orleans.RateLimit.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// Puts rate limits and exemptions on endpoints, route groups and controller endpoints. On a route group they reach every
/// endpoint of the group and of its nested groups (Flask-Limiter's blueprint limits and exemptions).
/// </summary>
public static class RateLimitEndpointConventionBuilderExtensions
{
    /// <summary>Limits the endpoints to <paramref name="limit"/>, e.g. <c>1/minute</c> or <c>1/second;100/hour</c>.</summary>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation; the message quotes it.</exception>
    public static TBuilder RateLimit<TBuilder>(this TBuilder builder, string limit, Action<RateLimitBuilder>? configure = null)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddLimit(RateLimitValue.Parse(limit), shared: false, scope: null, configure);

    /// <summary>
    /// Limits the endpoints to a limit picked per request. <see langword="null"/> or empty skips it for that request; an
    /// endpoint left without limits of its own then gets its group and default limits.
    /// </summary>
    public static TBuilder RateLimit<TBuilder>(this TBuilder builder, Func<HttpContext, string?> limit, Action<RateLimitBuilder>? configure = null)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddLimit(RateLimitValue.Dynamic(limit), shared: false, scope: null, configure);

    /// <summary>Limits the endpoints to <paramref name="limit"/>, counted under <paramref name="scope"/> together with every other endpoint naming it.</summary>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation; the message quotes it.</exception>
    public static TBuilder SharedRateLimit<TBuilder>(this TBuilder builder, string limit, string scope, Action<RateLimitBuilder>? configure = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        return builder.AddLimit(RateLimitValue.Parse(limit), shared: true, scope: d => d.Scope = scope, configure);
    }

    /// <summary>A shared limit whose scope is picked from the endpoint identifier.</summary>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation; the message quotes it.</exception>
    public static TBuilder SharedRateLimit<TBuilder>(this TBuilder builder, string limit, Func<string, string?> scope, Action<RateLimitBuilder>? configure = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(scope);
        return builder.AddLimit(RateLimitValue.Parse(limit), shared: true, scope: d => d.ScopeSelector = scope, configure);
    }

    /// <summary>A shared limit picked per request, counted under <paramref name="scope"/>.</summary>
    public static TBuilder SharedRateLimit<TBuilder>(this TBuilder builder, Func<HttpContext, string?> limit, string scope, Action<RateLimitBuilder>? configure = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        return builder.AddLimit(RateLimitValue.Dynamic(limit), shared: true, scope: d => d.Scope = scope, configure);
    }

    /// <summary>
    /// Exempts the endpoints from the limits <paramref name="scope"/> names; by default the application, default and meta
    /// limits. An endpoint exempted this way also ignores its own limits, as in Flask-Limiter.
    /// </summary>
    public static TBuilder ExemptFromRateLimits<TBuilder>(
        this TBuilder builder, ExemptionScope scope = ExemptionScope.Application | ExemptionScope.Default | ExemptionScope.Meta)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var metadata = new RateLimitExemptionMetadata(scope, GroupOf(builder));
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }

    private static TBuilder AddLimit<TBuilder>(
        this TBuilder builder, RateLimitValue value, bool shared, Action<LimitDefinition>? scope, Action<RateLimitBuilder>? configure)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var group = GroupOf(builder);
        var definition = new LimitDefinition(LimitKind.Route, value)
        {
            Shared = shared,
            Origin = $"{(group is null ? "endpoint" : "route group")} limit {value}",
        };
        scope?.Invoke(definition);
        configure?.Invoke(new RateLimitBuilder(definition));
        if (shared && definition.Scope is null && definition.ScopeSelector is null)
        {
            throw new ArgumentException($"The shared rate limit {value} needs a scope.", nameof(configure));
        }

        var metadata = new RouteLimitMetadata(definition, group);
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }

    // A group's conventions are copied onto each of its endpoints; remembering the builder tells the limits of different
    // groups apart and, by metadata order (outer groups first), which group surrounds which.
    private static RouteGroupBuilder? GroupOf(IEndpointConventionBuilder builder) => builder as RouteGroupBuilder;
}
