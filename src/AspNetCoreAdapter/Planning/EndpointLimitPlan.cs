namespace Orleans.RateLimit.AspNetCore;

/// <summary>What endpoint metadata says about limiting one endpoint: built once per endpoint and cached.</summary>
internal sealed class EndpointLimitPlan
{
    public static readonly EndpointLimitPlan Disabled = new(true, ExemptionScope.None, null, false, [], []);

    public EndpointLimitPlan(
        bool disabled,
        ExemptionScope exemption,
        string? identifier,
        bool hasOwnLimits,
        IReadOnlyList<LimitDefinition> routeLimits,
        IReadOnlyList<LimitDefinition> groupLimits)
    {
        IsDisabled = disabled;
        Exemption = exemption;
        Identifier = identifier;
        HasOwnLimits = hasOwnLimits;
        RouteLimits = routeLimits;
        GroupLimits = groupLimits;
        GroupLimitsAllAdditive = groupLimits.All(l => !l.OverrideDefaults);
    }

    /// <summary><c>[DisableRateLimiting]</c>: not limited at all.</summary>
    public bool IsDisabled { get; }

    /// <summary>The exemptions of the endpoint and its groups.</summary>
    public ExemptionScope Exemption { get; }

    /// <summary>The default request identifier: the endpoint's name, route pattern or display name.</summary>
    public string? Identifier { get; }

    /// <summary>
    /// Whether the endpoint was given limits of its own, even if it is exempt and ignores them: Flask-Limiter then counts only
    /// the application limits before the endpoint, and the rest in a phase of its own that decides the headers.
    /// </summary>
    public bool HasOwnLimits { get; }

    /// <summary>The endpoint's own limits (attributes and endpoint conventions); empty when the endpoint is exempt.</summary>
    public IReadOnlyList<LimitDefinition> RouteLimits { get; }

    /// <summary>The limits inherited from route groups, outer groups first, after the inheritance rules.</summary>
    public IReadOnlyList<LimitDefinition> GroupLimits { get; }

    /// <summary>Whether every group limit adds to the defaults instead of replacing them.</summary>
    public bool GroupLimitsAllAdditive { get; }

    public bool IsExempt(ExemptionScope scope) => (Exemption & scope) != 0;
}
