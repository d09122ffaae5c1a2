using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>One configured limit with everything that decides how it is counted: Flask-Limiter's <c>Limit</c>.</summary>
internal sealed class LimitDefinition
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<HttpContext, string?>> HeaderKeys = new(StringComparer.OrdinalIgnoreCase);

    private IReadOnlyList<LimitDefinition>? _metaDefinitions;

    public LimitDefinition(LimitKind kind, RateLimitValue value)
    {
        Kind = kind;
        Value = value;
    }

    public LimitKind Kind { get; }

    public RateLimitValue Value { get; private set; }

    /// <summary>Shared limits count under their scope name alone; the others under the endpoint (plus the scope).</summary>
    public bool Shared { get; set; }

    public string? Scope { get; set; }

    /// <summary>Picks the scope from the endpoint identifier (a dynamic scope).</summary>
    public Func<string, string?>? ScopeSelector { get; set; }

    public bool PerMethod { get; set; }

    /// <summary>Upper-case methods the limit applies to; <see langword="null"/> for all.</summary>
    public IReadOnlySet<string>? Methods { get; set; }

    public int Cost { get; set; } = 1;

    public Func<HttpContext, int>? CostSelector { get; set; }

    public Func<HttpContext, bool>? ExemptWhen { get; set; }

    public Func<HttpResponse, bool>? DeductWhen { get; set; }

    public string? ErrorMessage { get; set; }

    public Func<HttpContext, string>? ErrorMessageSelector { get; set; }

    public bool OverrideDefaults { get; set; } = true;

    public Func<HttpContext, string?>? KeySelector { get; set; }

    public IReadOnlyList<RateLimitValue> MetaLimits { get; set; } = [];

    public Func<BreachContext, IResult?>? OnBreach { get; set; }

    /// <summary>What the limit does while its window can't be reached; <see langword="null"/> for the limiter's default.</summary>
    public RateLimitFailureMode? FailureMode { get; set; }

    /// <summary>Whether the limit's windows are leased to the nodes that decide them; <see langword="null"/> for the limiter's default.</summary>
    public RateLimitLeasing? Leasing { get; set; }

    /// <summary>
    /// The meta limits as definitions; one without a key selector of its own is keyed like this limit. Built on first use,
    /// after the builder has run.
    /// </summary>
    public IReadOnlyList<LimitDefinition> MetaDefinitions =>
        _metaDefinitions ??= [.. MetaLimits.Select(value => LimiterLimits.MetaDefinition(value, KeySelector, $"{Origin}, meta limit {value}"))];

    /// <summary>Where the limit applies, for error messages: an endpoint, a group, the options.</summary>
    public string Origin { get; set; } = "";

    /// <summary>
    /// Whether both limits count alike: Flask-Limiter keeps a route's limits, and the runtime limits of a phase, in sets, so
    /// identical ones count once. Functions are the same when they are the same delegate, as Python compares functions.
    /// </summary>
    public bool SameAs(LimitDefinition other) =>
        ReferenceEquals(this, other)
        || (Kind == other.Kind && Value.SameAs(other.Value) && SameSettingsAs(other));

    /// <summary>Whether both limits count alike apart from their text.</summary>
    public bool SameSettingsAs(LimitDefinition other) =>
        Shared == other.Shared
        && Scope == other.Scope
        && ScopeSelector == other.ScopeSelector
        && PerMethod == other.PerMethod
        && (Methods is null ? other.Methods is null : other.Methods is not null && Methods.SetEquals(other.Methods))
        && Cost == other.Cost
        && CostSelector == other.CostSelector
        && ExemptWhen == other.ExemptWhen
        && DeductWhen == other.DeductWhen
        && ErrorMessage == other.ErrorMessage
        && ErrorMessageSelector == other.ErrorMessageSelector
        && OverrideDefaults == other.OverrideDefaults
        && KeySelector == other.KeySelector
        && OnBreach == other.OnBreach
        && FailureMode == other.FailureMode
        && Leasing == other.Leasing
        && MetaLimits.Count == other.MetaLimits.Count
        && MetaDefinitions.Zip(other.MetaDefinitions).All(pair => pair.First.SameAs(pair.Second));

    /// <summary>
    /// The key selector reading request header <paramref name="name"/>, one per name, so that limits keyed by the same header
    /// (in attributes or configuration, which can't hold functions) are identical.
    /// </summary>
    public static Func<HttpContext, string?> HeaderKey(string name) => HeaderKeys.GetOrAdd(name.Trim(), KeySelectors.Header);

    /// <summary>A copy counting <paramref name="value"/> instead, with the same settings.</summary>
    public LimitDefinition WithValue(RateLimitValue value)
    {
        var copy = (LimitDefinition)MemberwiseClone();
        copy.Value = value;
        copy._metaDefinitions = null;
        return copy;
    }

    /// <summary>Whether the limit applies to <paramref name="method"/> (Flask-Limiter's <c>methods</c>).</summary>
    public bool AppliesTo(string method) => Methods is null || Methods.Contains(method);

    /// <summary>The text of a 429 caused by this limit.</summary>
    public string Describe(HttpContext context, RateLimitItem item) =>
        ErrorMessageSelector?.Invoke(context) ?? ErrorMessage ?? item.ToString();

    public int CostFor(HttpContext context)
    {
        var cost = CostSelector?.Invoke(context) ?? Cost;
        if (cost < 0)
        {
            throw new InvalidOperationException($"The cost of rate limit {Value} ({Origin}) must be zero or more, but its cost function returned {cost}.");
        }

        return cost;
    }
}
