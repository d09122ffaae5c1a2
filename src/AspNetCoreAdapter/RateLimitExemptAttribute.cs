namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Exempts a controller, an action or a handler from limits (Flask-Limiter's <c>@limiter.exempt</c>). With any scope, the
/// target's own limits are ignored too, as in the original.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class RateLimitExemptAttribute : Attribute, IRateLimitExemptionMetadata
{
    /// <summary>Exempts from the application, default and meta limits.</summary>
    public RateLimitExemptAttribute()
        : this(ExemptionScope.Application | ExemptionScope.Default | ExemptionScope.Meta)
    {
    }

    /// <summary>Exempts from the limits <paramref name="scope"/> names.</summary>
    public RateLimitExemptAttribute(ExemptionScope scope) => Scope = scope;

    /// <summary>The limits lifted.</summary>
    public ExemptionScope Scope { get; }

    object? IRateLimitExemptionMetadata.Group => null;
}
