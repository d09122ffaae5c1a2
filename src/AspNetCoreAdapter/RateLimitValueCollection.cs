using System.Collections.ObjectModel;
using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Limits given as fixed text (parsed as it is added) or as per-request functions; no null entries. The base of
/// <see cref="RateLimitList"/> and <see cref="MetaLimitList"/>, which add limits with settings of their own.
/// </summary>
public abstract class RateLimitValueCollection : Collection<RateLimitValue>
{
    private protected RateLimitValueCollection()
    {
    }

    /// <summary>Adds one or more limits in rate-limit notation, e.g. <c>100/hour</c> or <c>1/second;100/hour</c>.</summary>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation; the message quotes it.</exception>
    public void Add(string limit) => Add(RateLimitValue.Parse(limit));

    /// <summary>Adds a dynamic limit, picked per request; see <see cref="RateLimitValue.Dynamic"/>.</summary>
    public void Add(Func<HttpContext, string?> limit) => Add(RateLimitValue.Dynamic(limit));

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
