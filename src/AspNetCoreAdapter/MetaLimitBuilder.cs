using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Settings of one meta limit beyond its text: Flask-Limiter's <c>MetaLimit</c>. A meta limit is always shared, counts under
/// scope <c>meta</c> unless given its own, and can't count per method, deduct after the response or have meta limits.
/// </summary>
public sealed class MetaLimitBuilder
{
    internal MetaLimitBuilder(LimitDefinition definition) => Definition = definition;

    internal LimitDefinition Definition { get; }

    /// <summary>Whom the meta limit counts; without one, the key selector of the limit it is declared for, else the limiter's.</summary>
    public MetaLimitBuilder KeySelector(Func<HttpContext, string?> keySelector)
    {
        ArgumentNullException.ThrowIfNull(keySelector);
        Definition.KeySelector = keySelector;
        return this;
    }

    /// <summary>The scope the meta limit counts under, instead of <c>meta</c>.</summary>
    public MetaLimitBuilder Scope(string scope)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        Definition.Scope = scope;
        Definition.ScopeSelector = null;
        return this;
    }

    /// <summary>The scope, picked from the endpoint identifier; an empty result counts under the endpoint identifier.</summary>
    public MetaLimitBuilder Scope(Func<string, string?> scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        Definition.ScopeSelector = scope;
        return this;
    }

    /// <summary>What a request costs when the meta limit is tested. Default 1. A breach always counts 1.</summary>
    public MetaLimitBuilder Cost(int cost)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cost);
        Definition.Cost = cost;
        Definition.CostSelector = null;
        return this;
    }

    /// <summary>What a request costs when the meta limit is tested, decided per request.</summary>
    public MetaLimitBuilder Cost(Func<HttpContext, int> cost)
    {
        ArgumentNullException.ThrowIfNull(cost);
        Definition.CostSelector = cost;
        return this;
    }

    /// <summary>The text of the 429 instead of the meta limit's own text.</summary>
    public MetaLimitBuilder ErrorMessage(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Definition.ErrorMessage = message;
        return this;
    }

    /// <summary>The text of the 429, decided when the meta limit blocks.</summary>
    public MetaLimitBuilder ErrorMessage(Func<HttpContext, string> message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Definition.ErrorMessageSelector = message;
        return this;
    }

    /// <summary>Skips the meta limit, both its test and the counting of breaches, for requests where <paramref name="predicate"/> holds.</summary>
    public MetaLimitBuilder ExemptWhen(Func<HttpContext, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        Definition.ExemptWhen = predicate;
        return this;
    }

    /// <summary>Called when the meta limit blocks a request, instead of the limiter's <c>OnMetaBreach</c>; a non-null result is the response.</summary>
    public MetaLimitBuilder OnBreach(Func<BreachContext, IResult?> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Definition.OnBreach = callback;
        return this;
    }

    /// <summary>
    /// <paramref name="value"/> with these settings. <paramref name="configure"/> runs once now, so that a bad setting fails
    /// where it is written, and again for every definition built from the value.
    /// </summary>
    internal static RateLimitValue Value(RateLimitValue value, Action<MetaLimitBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(new MetaLimitBuilder(new LimitDefinition(LimitKind.Meta, value)));
        return value.WithSettings(definition => configure(new MetaLimitBuilder(definition)));
    }
}
