using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>A list of limits: fixed text (parsed as it is added) or per-request functions.</summary>
public sealed class RateLimitList : RateLimitValueCollection
{
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

    private static RateLimitValue WithSettings(RateLimitValue value, Action<RateLimitBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return value.WithSettings(definition => configure(new RateLimitBuilder(definition)));
    }
}
