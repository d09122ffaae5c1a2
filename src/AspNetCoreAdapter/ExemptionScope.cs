namespace Orleans.RateLimit.AspNetCore;

/// <summary>Which limits an exemption lifts, as Flask-Limiter's <c>ExemptionScope</c>.</summary>
[Flags]
public enum ExemptionScope
{
    /// <summary>Nothing is lifted.</summary>
    None = 0,

    /// <summary>The application limits are not evaluated.</summary>
    Application = 1,

    /// <summary>The meta limits are not tested (breaches are still counted).</summary>
    Meta = 2,

    /// <summary>The default limits are not evaluated.</summary>
    Default = 4,

    /// <summary>
    /// On a route group: nested groups are exempt too and this group's limits do not reach them. Nested groups inherit a
    /// group's exemption in ASP.NET Core anyway, so this flag mostly documents intent.
    /// </summary>
    Descendants = 8,

    /// <summary>On a route group: the limits of the groups around it do not apply to it.</summary>
    Ancestors = 16,
}
