using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>How the evaluator turns a request's limits into window checks: which count, in which window, in what order.</summary>
internal sealed partial class LimitEvaluator
{
    /// <summary>
    /// Adds a phase: its meta limits (the limiter's, then those of its limits), then its limits.
    /// </summary>
    /// <returns><see langword="false"/> when a meta limit this node knows to be blocking ended the checks.</returns>
    private bool AddPhase(
        HttpContext context, RateLimitRequestState state, List<ResolvedLimit> limits, IReadOnlyList<LimitDefinition> metaLimits, RequestChecks checks, bool anotherFollows)
    {
        checks.StartPhase();
        if (!state.Plan.IsExempt(ExemptionScope.Meta))
        {
            if (!AddMetaChecks(context, state, metaLimits, checks))
            {
                return false;
            }

            foreach (var resolved in limits)
            {
                var definition = resolved.Definition;
                if (definition.MetaLimits.Count > 0 && !IsReplaced(state, definition)
                    && !AddMetaChecks(context, state, definition.MetaDefinitions, checks))
                {
                    return false;
                }
            }
        }

        AddLimitChecks(context, state, limits, checks);
        checks.EndPhase(anotherFollows);
        return true;
    }

    /// <summary>The limits of a phase that count for this request, shortest granularity first.</summary>
    private void AddLimitChecks(HttpContext context, RateLimitRequestState state, List<ResolvedLimit> limits, RequestChecks checks)
    {
        // Stable, by granularity only (Flask-Limiter compares GRANULARITY.seconds): "1 per 2 hours" and "5 per 1 hour" tie.
        var sorted = limits.Count < 2 ? limits : SortedByGranularity(limits);
        var method = context.Request.Method;
        foreach (var resolved in sorted)
        {
            var definition = resolved.Definition;
            if (!definition.AppliesTo(method) || definition.ExemptWhen?.Invoke(context) == true || IsReplaced(state, definition))
            {
                continue;
            }

            if (WindowFor(context, state, resolved) is { } window)
            {
                checks.AddLimit(resolved, window, definition.CostFor(context), _options.FailOnFirstBreach);
            }
        }
    }

    private static List<ResolvedLimit> SortedByGranularity(List<ResolvedLimit> limits)
    {
        var sorted = new List<ResolvedLimit>(limits);
        for (var i = 1; i < sorted.Count; i++)
        {
            var current = sorted[i];
            var j = i - 1;
            while (j >= 0 && sorted[j].Item.Granularity.Seconds > current.Item.Granularity.Seconds)
            {
                sorted[j + 1] = sorted[j];
                j--;
            }

            sorted[j + 1] = current;
        }

        return sorted;
    }

    private static bool AllAdditive(List<ResolvedLimit> limits)
    {
        foreach (var limit in limits)
        {
            if (limit.Definition.OverrideDefaults)
            {
                return false;
            }
        }

        return true;
    }

    private static bool NoneAppliesTo(IReadOnlyList<LimitDefinition> definitions, string method)
    {
        foreach (var definition in definitions)
        {
            if (definition.AppliesTo(method))
            {
                return false;
            }
        }

        return true;
    }

    private static bool NoneAppliesTo(List<ResolvedLimit> limits, string method)
    {
        foreach (var limit in limits)
        {
            if (limit.Definition.AppliesTo(method))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Adds a check for each meta limit that counts for this request, until one this node already knows to be blocking,
    /// which ends the checks.
    /// </summary>
    /// <returns><see langword="false"/> when a known block ended the checks.</returns>
    private bool AddMetaChecks(HttpContext context, RateLimitRequestState state, IReadOnlyList<LimitDefinition> metaLimits, RequestChecks checks)
    {
        if (metaLimits.Count == 0)
        {
            return true;
        }

        var resolved = new List<ResolvedLimit>(metaLimits.Count);
        Resolve(context, state, metaLimits, resolved);
        var now = time.GetUtcNow();
        foreach (var meta in resolved)
        {
            if (meta.Definition.ExemptWhen?.Invoke(context) == true || WindowFor(context, state, meta) is not { } window)
            {
                continue;
            }

            if (blocked.IsBlocked(new WindowRef(window), now, out var until))
            {
                checks.EndWithKnownBlock(new KnownBlock(meta, window, new WindowStats(0, until)));
                return false;
            }

            checks.AddMeta(meta, window, meta.Definition.CostFor(context));
        }

        return true;
    }

    // Flask-Limiter evaluates the application and default limits of a phase as a set: identical ones count once.
    private static bool IsDistinctKind(LimitDefinition definition) => definition.Kind is LimitKind.Application or LimitKind.Default;

    private static bool Contains(List<ResolvedLimit> limits, LimitDefinition definition, RateLimitItem item)
    {
        foreach (var limit in limits)
        {
            if (limit.Item.Equals(item) && limit.Definition.SameSettingsAs(definition) && limit.Definition.Kind == definition.Kind)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the fallback limits stand in for <paramref name="definition"/> in this request.</summary>
    private bool IsReplaced(RateLimitRequestState state, LimitDefinition definition) =>
        state.UsesFallbackLimits && storage.IsReplacedByFallbackLimits(definition);

    /// <summary>The window a limit counts in for this request; <see langword="null"/> (logged) when its key or scope is empty.</summary>
    private RateLimitWindowKey? WindowFor(HttpContext context, RateLimitRequestState state, ResolvedLimit resolved)
    {
        var definition = resolved.Definition;
        var scope = ScopeFor(definition, state.Endpoint, context.Request.Method);
        var key = (definition.KeySelector ?? _options.KeySelector)(context);
        if (string.IsNullOrEmpty(scope) || string.IsNullOrEmpty(key))
        {
            RateLimitLog.EmptyKeyOrScope(logger, resolved.Item.ToString());
            return null;
        }

        var prefix = definition.Kind == LimitKind.Meta ? "" : _options.KeyPrefix;
        return new RateLimitWindowKey(_options.Strategy, resolved.Item, scope, key, prefix);
    }

    private static string ScopeFor(LimitDefinition definition, string endpoint, string method)
    {
        var limitScope = definition.ScopeSelector is { } selector ? selector(endpoint) : definition.Scope;
        var scope = string.IsNullOrEmpty(limitScope) ? endpoint
            : definition.Shared ? limitScope
            : string.Concat(endpoint, ":", limitScope);
        return definition.PerMethod ? string.Concat(scope, ":", method.ToUpperInvariant()) : scope;
    }

    /// <summary>Adds the items of <paramref name="definitions"/>; <see langword="false"/> if a dynamic limit did not parse (logged).</summary>
    private bool Resolve(HttpContext context, RateLimitRequestState state, IReadOnlyList<LimitDefinition> definitions, List<ResolvedLimit> into)
    {
        var allLoaded = true;
        var dynamicSeen = false;
        foreach (var definition in definitions)
        {
            if (definition.Value.Provider is not { } provider)
            {
                foreach (var item in definition.Value.Items)
                {
                    // Fixed limits are made distinct when the limiter's limits are built; only a dynamic one before them can
                    // have resolved to the same limit.
                    if (dynamicSeen && IsDistinctKind(definition) && Contains(into, definition, item))
                    {
                        continue;
                    }

                    into.Add(new ResolvedLimit(definition, item));
                }

                continue;
            }

            dynamicSeen = true;
            var text = provider(context);
            if (string.IsNullOrEmpty(text))
            {
                continue;
            }

            if (!texts.TryParse(text, out var items, out var error))
            {
                RateLimitLog.InvalidDynamicLimit(logger, state.Endpoint, error!);
                allLoaded = false;
                continue;
            }

            foreach (var item in items)
            {
                if (IsDistinctKind(definition) && Contains(into, definition, item))
                {
                    continue;
                }

                into.Add(new ResolvedLimit(definition, item));
            }
        }

        return allLoaded;
    }
}
