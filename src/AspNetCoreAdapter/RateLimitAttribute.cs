namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Limits a controller, an action or a minimal-API handler (Flask-Limiter's <c>@limiter.limit</c>). May repeat. On a
/// controller it applies to every action; its counters are per endpoint identifier, so actions sharing a route template
/// share them unless <see cref="PerMethod"/> is set. A malformed limit fails the application's start.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = true, Inherited = true)]
public class RateLimitAttribute : Attribute, IRouteLimitMetadata
{
    private LimitDefinition? _definition;
    private RateLimitFailureMode? _failureMode;
    private RateLimitLeasing? _leasing;

    /// <summary>Limits the target to <paramref name="limit"/>, e.g. <c>10/second</c> or <c>1/second;100/hour</c>.</summary>
    public RateLimitAttribute(string limit) => Limit = limit;

    /// <summary>The limit in rate-limit notation.</summary>
    public string Limit { get; }

    /// <summary>Counts each HTTP method separately.</summary>
    public bool PerMethod { get; set; }

    /// <summary>The HTTP methods the limit applies to; all when empty.</summary>
    public string[]? Methods { get; set; }

    /// <summary>What one request costs. Default 1.</summary>
    public int Cost { get; set; } = 1;

    /// <summary>Whether the limit replaces the default limits. Default <see langword="true"/>.</summary>
    public bool OverrideDefaults { get; set; } = true;

    /// <summary>The text of the 429 instead of the limit's own text.</summary>
    public string? ErrorMessage { get; set; }

    /// <summary>A sub-scope: the limit counts under <c>endpoint:scope</c>.</summary>
    public string? Scope { get; set; }

    /// <summary>
    /// Counts clients by the first value of this request header instead of the limiter's key selector (an attribute can't
    /// hold a function; for any other key use the <c>RateLimit</c> endpoint convention's <c>KeySelector</c>).
    /// </summary>
    public string? KeyHeader { get; set; }

    /// <summary>Meta limits that count breaches of this limit, keyed like it, e.g. <c>MetaLimits = ["2/hour"]</c>.</summary>
    public string[]? MetaLimits { get; set; }

    /// <summary>What the limit does while its window can't be reached. Default: the limiter's <see cref="RateLimitOptions.FailureMode"/>.</summary>
    public RateLimitFailureMode FailureMode
    {
        get => _failureMode ?? RateLimitFailureMode.FallbackToMemory;
        set => _failureMode = value;
    }

    /// <summary>Whether the limit's windows are leased to the nodes that decide them. Default: the limiter's <see cref="RateLimitOptions.Leasing"/>.</summary>
    public RateLimitLeasing Leasing
    {
        get => _leasing ?? RateLimitLeasing.Auto;
        set => _leasing = value;
    }

    object? IRouteLimitMetadata.Group => null;

    /// <summary>Whether the counter is shared under <see cref="Scope"/> alone.</summary>
    private protected virtual bool Shared => false;

    LimitDefinition IRouteLimitMetadata.GetDefinition() => _definition ??= CreateDefinition();

    private LimitDefinition CreateDefinition()
    {
        var origin = $"[{GetType().Name.Replace("Attribute", "", StringComparison.Ordinal)}(\"{Limit}\")]";
        RateLimitValue value;
        try
        {
            value = RateLimitValue.Parse(Limit);
        }
        catch (FormatException e)
        {
            throw new FormatException($"Invalid limit in {origin}: {e.Message}", e);
        }

        if (Cost < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Cost), Cost, $"The cost of {origin} must be zero or more.");
        }

        if (_failureMode is { } mode && !Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(FailureMode), mode, $"The failure mode of {origin} is not a failure mode.");
        }

        if (_leasing is { } leasing && !Enum.IsDefined(leasing))
        {
            throw new ArgumentOutOfRangeException(nameof(Leasing), leasing, $"The leasing mode of {origin} is not a leasing mode.");
        }

        if (Shared && string.IsNullOrEmpty(Scope))
        {
            throw new ArgumentException($"{origin} needs a scope.", nameof(Scope));
        }

        if (KeyHeader is not null && string.IsNullOrWhiteSpace(KeyHeader))
        {
            throw new ArgumentException($"The key header of {origin} is empty.", nameof(KeyHeader));
        }

        RateLimitValue[] metaLimits;
        try
        {
            metaLimits = [.. (MetaLimits ?? []).Select(RateLimitValue.Parse)];
        }
        catch (FormatException e)
        {
            throw new FormatException($"Invalid meta limit in {origin}: {e.Message}", e);
        }

        return new LimitDefinition(LimitKind.Route, value)
        {
            Shared = Shared,
            Scope = string.IsNullOrEmpty(Scope) ? null : Scope,
            PerMethod = PerMethod,
            Methods = Methods is { Length: > 0 } ? RateLimitBuilder.NormalizeMethods(Methods) : null,
            Cost = Cost,
            OverrideDefaults = OverrideDefaults,
            ErrorMessage = ErrorMessage,
            KeySelector = KeyHeader is null ? null : LimitDefinition.HeaderKey(KeyHeader),
            MetaLimits = metaLimits,
            FailureMode = _failureMode,
            Leasing = _leasing,
            Origin = origin,
        };
    }
}
