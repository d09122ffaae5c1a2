using System.Collections.ObjectModel;
using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>The limiter's meta limits: fixed text, per-request functions, or limits with settings of their own.</summary>
public sealed class MetaLimitList : Collection<RateLimitValue>
{
    /// <summary>Adds one or more meta limits in rate-limit notation, e.g. <c>2/hour</c>.</summary>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation; the message quotes it.</exception>
    public void Add(string limit) => Add(RateLimitValue.Parse(limit));

    /// <summary>Adds a dynamic meta limit, picked per request; see <see cref="RateLimitValue.Dynamic"/>.</summary>
    public void Add(Func<HttpContext, string?> limit) => Add(RateLimitValue.Dynamic(limit));

    /// <summary>Adds a meta limit with settings of its own (Flask-Limiter's <c>MetaLimit</c>).</summary>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation; the message quotes it.</exception>
    public void Add(string limit, Action<MetaLimitBuilder> configure) => Add(MetaLimitBuilder.Value(RateLimitValue.Parse(limit), configure));

    /// <summary>Adds a dynamic meta limit with settings of its own.</summary>
    public void Add(Func<HttpContext, string?> limit, Action<MetaLimitBuilder> configure) => Add(MetaLimitBuilder.Value(RateLimitValue.Dynamic(limit), configure));

    /// <inheritdoc />
    protected override void InsertItem(int index, RateLimitValue item)
    {
        ArgumentNullException.ThrowIfNull(item);
        base.InsertItem(index, item);
    }

    /// <inheritdoc />
    protected override void SetItem(int index, RateLimitValue item)
    {
        ArgumentNullException.ThrowIfNull(item);
        base.SetItem(index, item);
    }
}
