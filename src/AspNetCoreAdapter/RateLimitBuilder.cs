using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Settings of one endpoint, group or in-handler limit beyond its text: Flask-Limiter's <c>limit()</c> keyword arguments.
/// </summary>
public sealed class RateLimitBuilder
{
    internal RateLimitBuilder(LimitDefinition definition) => Definition = definition;

    internal LimitDefinition Definition { get; }

    /// <summary>Counts each HTTP method separately.</summary>
    public RateLimitBuilder PerMethod(bool perMethod = true)
    {
        Definition.PerMethod = perMethod;
        return this;
    }

    /// <summary>Applies the limit to these HTTP methods only; other methods fall back to the default limits when no other limit applies.</summary>
    public RateLimitBuilder Methods(params string[] methods)
    {
        ArgumentNullException.ThrowIfNull(methods);
        Definition.Methods = NormalizeMethods(methods);
        return this;
    }

    /// <summary>What one request costs. Default 1.</summary>
    public RateLimitBuilder Cost(int cost)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cost);
        Definition.Cost = cost;
        Definition.CostSelector = null;
        return this;
    }

    /// <summary>What a request costs, decided per request.</summary>
    public RateLimitBuilder Cost(Func<HttpContext, int> cost)
    {
        ArgumentNullException.ThrowIfNull(cost);
        Definition.CostSelector = cost;
        return this;
    }

    /// <summary>Only tests the limit before the endpoint runs, and spends it after the response starts if <paramref name="predicate"/> holds (429s included).</summary>
    public RateLimitBuilder DeductWhen(Func<HttpResponse, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        Definition.DeductWhen = predicate;
        return this;
    }

    /// <summary>Skips the limit for requests where <paramref name="predicate"/> holds.</summary>
    public RateLimitBuilder ExemptWhen(Func<HttpContext, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        Definition.ExemptWhen = predicate;
        return this;
    }

    /// <summary>The text of the 429 instead of the limit's own text.</summary>
    public RateLimitBuilder ErrorMessage(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Definition.ErrorMessage = message;
        return this;
    }

    /// <summary>The text of the 429, decided when the limit breaks.</summary>
    public RateLimitBuilder ErrorMessage(Func<HttpContext, string> message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Definition.ErrorMessageSelector = message;
        return this;
    }

    /// <summary>
    /// Whether this limit replaces the default limits (and, on a group, the limits of the groups around it). Default
    /// <see langword="true"/>; <see langword="false"/> adds it to them.
    /// </summary>
    public RateLimitBuilder OverrideDefaults(bool overrideDefaults)
    {
        Definition.OverrideDefaults = overrideDefaults;
        return this;
    }

    /// <summary>Whom this limit counts, instead of the limiter's key selector.</summary>
    public RateLimitBuilder KeySelector(Func<HttpContext, string?> keySelector)
    {
        ArgumentNullException.ThrowIfNull(keySelector);
        Definition.KeySelector = keySelector;
        return this;
    }

    /// <summary>
    /// A sub-scope: the limit counts under <c>endpoint:scope</c> (or, for a shared limit, under <paramref name="scope"/> alone).
    /// </summary>
    public RateLimitBuilder Scope(string scope)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        Definition.Scope = scope;
        Definition.ScopeSelector = null;
        return this;
    }

    /// <summary>A sub-scope picked from the endpoint identifier; an empty result skips the limit (logged as an error).</summary>
    public RateLimitBuilder Scope(Func<string, string?> scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        Definition.ScopeSelector = scope;
        return this;
    }

    /// <summary>Meta limits that count breaches of this limit, keyed like this limit.</summary>
    /// <exception cref="FormatException">A limit is not valid rate-limit notation.</exception>
    public RateLimitBuilder MetaLimits(params string[] limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        Definition.MetaLimits = [.. Definition.MetaLimits, .. limits.Select(RateLimitValue.Parse)];
        return this;
    }

    /// <summary>
    /// A meta limit with settings of its own that counts breaches of this limit (Flask-Limiter's <c>MetaLimit</c> in
    /// <c>meta_limits</c>); without a key selector of its own it is keyed like this limit, else like the limiter.
    /// </summary>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation.</exception>
    public RateLimitBuilder MetaLimit(string limit, Action<MetaLimitBuilder> configure)
    {
        Definition.MetaLimits = [.. Definition.MetaLimits, MetaLimitBuilder.Value(RateLimitValue.Parse(limit), configure)];
        return this;
    }

    /// <summary>
    /// Whether the limit counts under its scope alone, across every endpoint it applies to (Flask-Limiter's <c>shared</c>);
    /// a shared limit without a scope counts per endpoint. Application limits are always shared.
    /// </summary>
    public RateLimitBuilder Shared(bool shared = true)
    {
        Definition.Shared = shared;
        return this;
    }

    /// <summary>Called when this limit breaks, after the limiter's <c>OnBreach</c>; a non-null result is the response.</summary>
    public RateLimitBuilder OnBreach(Func<BreachContext, IResult?> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Definition.OnBreach = callback;
        return this;
    }

    /// <summary>What the limit does while its window can't be reached, instead of the limiter's <see cref="RateLimitOptions.FailureMode"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a failure mode.</exception>
    public RateLimitBuilder FailureMode(RateLimitFailureMode mode)
    {
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Not a rate-limit failure mode.");
        }

        Definition.FailureMode = mode;
        return this;
    }

    /// <summary>Whether the limit's windows are decided from budgets leased to each node, instead of the limiter's <see cref="RateLimitOptions.Leasing"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="leasing"/> is not a leasing mode.</exception>
    public RateLimitBuilder Leasing(RateLimitLeasing leasing)
    {
        if (!Enum.IsDefined(leasing))
        {
            throw new ArgumentOutOfRangeException(nameof(leasing), leasing, "Not a rate-limit leasing mode.");
        }

        Definition.Leasing = leasing;
        return this;
    }

    internal static FrozenSet<string> NormalizeMethods(IEnumerable<string> methods)
    {
        var normalized = new List<string>();
        foreach (var method in methods)
        {
            if (string.IsNullOrWhiteSpace(method))
            {
                throw new ArgumentException("An HTTP method of a rate limit is empty.", nameof(methods));
            }

            normalized.Add(method.Trim().ToUpperInvariant());
        }

        return normalized.ToFrozenSet(StringComparer.Ordinal);
    }
}
