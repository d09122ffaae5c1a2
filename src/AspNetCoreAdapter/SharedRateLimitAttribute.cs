namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// A limit whose counter is shared under <see cref="RateLimitAttribute.Scope"/> by every controller, action or endpoint
/// that names the same scope (Flask-Limiter's <c>@limiter.shared_limit</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = true, Inherited = true)]
public sealed class SharedRateLimitAttribute : RateLimitAttribute
{
    /// <summary>Limits the target to <paramref name="limit"/>, counted under <paramref name="scope"/>.</summary>
    public SharedRateLimitAttribute(string limit, string scope)
        : base(limit) => Scope = scope;

    private protected override bool Shared => true;
}
