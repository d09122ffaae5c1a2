using System.Collections.ObjectModel;
using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>A list of limits: fixed text (parsed as it is added) or per-request functions.</summary>
public sealed class RateLimitList : Collection<RateLimitValue>
{
    /// <summary>Adds one or more limits in rate-limit notation, e.g. <c>100/hour</c> or <c>1/second;100/hour</c>.</summary>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation; the message quotes it.</exception>
    public void Add(string limit) => Add(RateLimitValue.Parse(limit));

    /// <summary>Adds a dynamic limit, picked per request; see <see cref="RateLimitValue.Dynamic"/>.</summary>
    public void Add(Func<HttpContext, string?> limit) => Add(RateLimitValue.Dynamic(limit));

    /// <summary>
    /// Adds a limit with settings of its own (Flask-Limiter's <c>Limit</c> and <c>ApplicationLimit</c> objects), written
    /// as for an endpoint: <c>o.DefaultLimits.Add("10/second", l => l.KeySelector(ByUser).Cost(2))</c>. Such a limit is
    /// final: the list-wide settings (<c>DefaultLimitsCost</c>, <c>DefaultLimitsExemptWhen</c>, …) don't apply to it.
    /// Settings that don't apply to the list fail the start.
    /// </summary>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation; the message quotes it.</exception>
    public void Add(string limit, Action<RateLimitBuilder> configure) => Add(WithSettings(RateLimitValue.Parse(limit), configure));

    /// <summary>Adds a dynamic limit with settings of its own; see <see cref="Add(string, Action{RateLimitBuilder})"/>.</summary>
    public void Add(Func<HttpContext, string?> limit, Action<RateLimitBuilder> configure) => Add(WithSettings(RateLimitValue.Dynamic(limit), configure));

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

    private static RateLimitValue WithSettings(RateLimitValue value, Action<RateLimitBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return value.WithSettings(definition => configure(new RateLimitBuilder(definition)));
    }
}
