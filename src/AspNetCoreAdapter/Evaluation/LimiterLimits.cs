namespace Orleans.RateLimit.AspNetCore;

/// <summary>The application, default and meta limits of <see cref="RateLimitOptions"/>, as definitions.</summary>
internal sealed class LimiterLimits
{
    public const string ApplicationScope = "global";
    public const string MetaScope = "meta";

    public LimiterLimits(RateLimitOptions options)
    {
        Application = [.. options.ApplicationLimits.Select(value => new LimitDefinition(LimitKind.Application, value)
        {
            Shared = true,
            Scope = ApplicationScope,
            PerMethod = options.ApplicationLimitsPerMethod,
            ExemptWhen = options.ApplicationLimitsExemptWhen,
            DeductWhen = options.ApplicationLimitsDeductWhen,
            CostSelector = options.ApplicationLimitsCost,
            Origin = $"application limit {value}",
        })];
        Default = [.. options.DefaultLimits.Select(value => new LimitDefinition(LimitKind.Default, value)
        {
            PerMethod = options.DefaultLimitsPerMethod,
            ExemptWhen = options.DefaultLimitsExemptWhen,
            DeductWhen = options.DefaultLimitsDeductWhen,
            CostSelector = options.DefaultLimitsCost,
            Origin = $"default limit {value}",
        })];
        Meta = [.. options.MetaLimits.Select(value => MetaDefinition(value, keySelector: null))];
        Fallback = [.. options.InMemoryFallback.Select(value => new LimitDefinition(LimitKind.Fallback, value)
        {
            Origin = $"in-memory fallback limit {value}",
        })];
    }

    public IReadOnlyList<LimitDefinition> Application { get; }

    public IReadOnlyList<LimitDefinition> Default { get; }

    public IReadOnlyList<LimitDefinition> Meta { get; }

    /// <summary>The limits that replace the others while the cluster can't be reached; empty to keep the others.</summary>
    public IReadOnlyList<LimitDefinition> Fallback { get; }

    /// <summary>A meta limit; one attached to a limit counts with that limit's key selector.</summary>
    public static LimitDefinition MetaDefinition(RateLimitValue value, Func<Microsoft.AspNetCore.Http.HttpContext, string?>? keySelector) =>
        new(LimitKind.Meta, value)
        {
            Shared = true,
            Scope = MetaScope,
            KeySelector = keySelector,
            Origin = $"meta limit {value}",
        };
}
