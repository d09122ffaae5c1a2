using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>The application, default and meta limits of <see cref="RateLimitOptions"/>, as definitions.</summary>
internal sealed class LimiterLimits
{
    public const string ApplicationScope = "global";
    public const string MetaScope = "meta";

    /// <exception cref="InvalidOperationException">A limit's own settings are malformed; the message names every such limit.</exception>
    public LimiterLimits(RateLimitOptions options)
    {
        var problems = new List<string>();
        Application = Distinct(Build(options.ApplicationLimits, nameof(RateLimitOptions.ApplicationLimits), problems, value =>
            new LimitDefinition(LimitKind.Application, value)
            {
                Shared = true,
                Scope = ApplicationScope,
                PerMethod = options.ApplicationLimitsPerMethod,
                ExemptWhen = options.ApplicationLimitsExemptWhen,
                DeductWhen = options.ApplicationLimitsDeductWhen,
                CostSelector = options.ApplicationLimitsCost,
                Origin = $"application limit {value}",
            }));
        Default = Distinct(Build(options.DefaultLimits, nameof(RateLimitOptions.DefaultLimits), problems, value =>
            new LimitDefinition(LimitKind.Default, value)
            {
                PerMethod = options.DefaultLimitsPerMethod,
                ExemptWhen = options.DefaultLimitsExemptWhen,
                DeductWhen = options.DefaultLimitsDeductWhen,
                CostSelector = options.DefaultLimitsCost,
                Origin = $"default limit {value}",
            }));
        Meta = Build(options.MetaLimits, nameof(RateLimitOptions.MetaLimits), problems, value =>
            MetaDefinition(value, parentKeySelector: null, $"meta limit {value}"));
        Fallback = Build(options.InMemoryFallback, nameof(RateLimitOptions.InMemoryFallback), problems, value =>
            new LimitDefinition(LimitKind.Fallback, value) { Origin = $"in-memory fallback limit {value}" });
        Problems = problems;
    }

    public IReadOnlyList<LimitDefinition> Application { get; }

    public IReadOnlyList<LimitDefinition> Default { get; }

    public IReadOnlyList<LimitDefinition> Meta { get; }

    /// <summary>The limits that replace the others while the cluster can't be reached; empty to keep the others.</summary>
    public IReadOnlyList<LimitDefinition> Fallback { get; }

    /// <summary>What is wrong with the limits' own settings, one line per limit, in list order.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>
    /// A meta limit: shared, under scope <c>meta</c> unless it names its own, keyed by its own selector, else by the limit
    /// it is declared for, else by the limiter's.
    /// </summary>
    public static LimitDefinition MetaDefinition(RateLimitValue value, Func<HttpContext, string?>? parentKeySelector, string origin)
    {
        var definition = new LimitDefinition(LimitKind.Meta, value)
        {
            Shared = true,
            Scope = MetaScope,
            Origin = origin,
        };
        value.Settings?.Invoke(definition);
        definition.KeySelector ??= parentKeySelector;
        return definition;
    }

    private static List<LimitDefinition> Build(
        IList<RateLimitValue> values, string list, List<string> problems, Func<RateLimitValue, LimitDefinition> create)
    {
        var definitions = new List<LimitDefinition>(values.Count);
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            LimitDefinition definition;
            try
            {
                definition = create(value);
                if (definition.Kind != LimitKind.Meta && value.Settings is { } settings)
                {
                    if (definition.Kind == LimitKind.Fallback)
                    {
                        throw new InvalidOperationException("in-memory fallback limits take no settings of their own.");
                    }

                    // A limit with settings of its own is final: the list-wide settings don't apply to it.
                    definition = new LimitDefinition(definition.Kind, value)
                    {
                        Shared = definition.Shared,
                        Scope = definition.Scope,
                        Origin = definition.Origin,
                    };
                    settings(definition);
                    ThrowIfMisplaced(definition);
                }
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
            {
                problems.Add($"RateLimitOptions.{list}[{i}] ({value}): {Describe(e)}");
                continue;
            }

            definitions.Add(definition);
        }

        return definitions;
    }

    private static void ThrowIfMisplaced(LimitDefinition definition)
    {
        if (!definition.OverrideDefaults)
        {
            throw new InvalidOperationException("OverrideDefaults applies to endpoint, group and attribute limits only.");
        }

        if (definition.Kind == LimitKind.Application && !definition.Shared)
        {
            throw new InvalidOperationException("application limits are always shared.");
        }
    }

    // Flask-Limiter evaluates the application and default limits of a phase as a set, so identical limit items with
    // identical settings count once.
    private static List<LimitDefinition> Distinct(List<LimitDefinition> definitions)
    {
        var distinct = new List<LimitDefinition>(definitions.Count);
        foreach (var definition in definitions)
        {
            if (definition.Value.Provider is not null)
            {
                distinct.Add(definition);
                continue;
            }

            var items = new List<RateLimitItem>(definition.Value.Items.Count);
            foreach (var item in definition.Value.Items)
            {
                if (!items.Contains(item) && !distinct.Any(d => d.Value.Items.Contains(item) && d.SameSettingsAs(definition)))
                {
                    items.Add(item);
                }
            }

            if (items.Count == definition.Value.Items.Count)
            {
                distinct.Add(definition);
            }
            else if (items.Count > 0)
            {
                distinct.Add(definition.WithValue(RateLimitValue.FromParsed(definition.Value.Text!, items)));
            }
        }

        return distinct;
    }

    // Argument exceptions end with the parameter name (and the value); the problem alone is what a reader needs.
    private static string Describe(Exception e)
    {
        var message = e.Message.Split('\n')[0];
        return e is ArgumentException { ParamName: { } name }
            ? message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal)
            : message;
    }
}
