using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>The limiter's meta limits: fixed text, per-request functions, or limits with settings of their own.</summary>
public sealed class MetaLimitList : RateLimitValueCollection
{
    /// <summary>Adds a meta limit with settings of its own (Flask-Limiter's <c>MetaLimit</c>).</summary>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation; the message quotes it.</exception>
    public void Add(string limit, Action<MetaLimitBuilder> configure) => Add(MetaLimitBuilder.Value(RateLimitValue.Parse(limit), configure));

    /// <summary>Adds a dynamic meta limit with settings of its own.</summary>
    public void Add(Func<HttpContext, string?> limit, Action<MetaLimitBuilder> configure) => Add(MetaLimitBuilder.Value(RateLimitValue.Dynamic(limit), configure));
}
