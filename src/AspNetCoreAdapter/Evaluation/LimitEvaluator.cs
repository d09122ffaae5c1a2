using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Decides a request as Flask-Limiter does: the limits the middleware phase would evaluate (application limits, and group
/// and default limits of endpoints without limits of their own), then the endpoint's own limits as its decorator phase would.
/// Each phase tests the meta limits first, then counts its limits shortest granularity first.
/// </summary>
internal sealed class LimitEvaluator(
    ResilientRateLimitStore storage,
    IOptions<RateLimitOptions> options,
    TimeProvider time,
    LimitTextCache texts,
    MetaBlockCache blocked,
    ILogger<LimitEvaluator> logger)
{
    private readonly RateLimitOptions _options = options.Value;
    private readonly LimiterLimits _limits = new(options.Value);

    public ResilientRateLimitStore Storage => storage;

    public async ValueTask<Breach?> EvaluateRequestAsync(HttpContext context, RateLimitRequestState state)
    {
        if (storage.FallbackLimitsActive)
        {
            state.UsesFallbackLimits = true;
            return await EvaluateLimitsAsync(context, state).ConfigureAwait(false);
        }

        var breach = await EvaluateLimitsAsync(context, state).ConfigureAwait(false);
        if (!state.NeedsFallbackLimits)
        {
            return breach;
        }

        // The cluster failed while this request was being counted: Flask-Limiter decides it again with the fallback limits.
        state.StartOverWithFallbackLimits();
        return await EvaluateLimitsAsync(context, state).ConfigureAwait(false);
    }

    private async ValueTask<Breach?> EvaluateLimitsAsync(HttpContext context, RateLimitRequestState state)
    {
        var plan = state.Plan;
        var method = context.Request.Method;
        var middlewarePhase = new List<ResolvedLimit>();
        if (!plan.IsExempt(ExemptionScope.Application))
        {
            Resolve(context, state, _limits.Application, middlewarePhase);
        }

        // An endpoint whose own limits resolve to nothing for this request (a dynamic limit returned no text, or text that
        // did not parse) is treated as one without limits of its own, as Flask-Limiter's decorator does.
        var routeLimits = new List<ResolvedLimit>();
        var decorated = plan.RouteLimits.Count > 0 && Resolve(context, state, plan.RouteLimits, routeLimits) && routeLimits.Count > 0;
        if (!decorated)
        {
            Resolve(context, state, plan.GroupLimits, middlewarePhase);
            if (!plan.IsExempt(ExemptionScope.Default) && plan.GroupLimitsAllAdditive)
            {
                Resolve(context, state, _limits.Default, middlewarePhase);
            }
        }

        if (state.UsesFallbackLimits && !plan.IsExempt(ExemptionScope.Default))
        {
            Resolve(context, state, _limits.Fallback, middlewarePhase);
        }

        var breach = await EvaluatePhaseAsync(context, state, middlewarePhase, _limits.Meta).ConfigureAwait(false);
        if (breach is not null || !decorated || state.NeedsFallbackLimits)
        {
            return breach;
        }

        var noneForThisMethod = NoneAppliesTo(routeLimits, method);
        var decoratorPhase = routeLimits;
        var allAdditive = plan.RouteLimitsAllAdditive;
        if (allAdditive)
        {
            Resolve(context, state, plan.GroupLimits, decoratorPhase);
            allAdditive = plan.GroupLimitsAllAdditive;
        }

        if (!plan.IsExempt(ExemptionScope.Default) && (allAdditive || noneForThisMethod))
        {
            Resolve(context, state, _limits.Default, decoratorPhase);
        }

        // The limiter's meta limits were tested a moment ago in the middleware phase; only the route limits' own are new here.
        return await EvaluatePhaseAsync(context, state, decoratorPhase, metaLimits: []).ConfigureAwait(false);
    }

    /// <summary>Evaluates limits checked from a handler, as Flask-Limiter's context manager does.</summary>
    public ValueTask<Breach?> EvaluateInHandlerAsync(HttpContext context, RateLimitRequestState state, LimitDefinition definition, IReadOnlyList<RateLimitItem> items)
    {
        var limits = new List<ResolvedLimit>(items.Count);
        foreach (var item in items)
        {
            limits.Add(new ResolvedLimit(definition, item));
        }

        return EvaluatePhaseAsync(context, state, limits, _limits.Meta);
    }

    private async ValueTask<Breach?> EvaluatePhaseAsync(
        HttpContext context, RateLimitRequestState state, List<ResolvedLimit> limits, IReadOnlyList<LimitDefinition> metaLimits)
    {
        var checks = new PhaseChecks(limits.Count + metaLimits.Count);
        if (!state.Plan.IsExempt(ExemptionScope.Meta))
        {
            // A client this node already knows to be blocked is answered without a call, unless a meta limit before it is
            // not known yet: that one is asked first, as the original tests them in order.
            var knownBlock = AddMetaChecks(context, state, metaLimits, checks);
            for (var i = 0; knownBlock is null && i < limits.Count; i++)
            {
                var definition = limits[i].Definition;
                if (definition.MetaLimits.Count > 0 && !IsReplaced(state, definition))
                {
                    knownBlock = AddMetaChecks(context, state, definition.MetaDefinitions, checks);
                }
            }

            if (knownBlock is { } block && checks.Count == 0)
            {
                return MetaBreach(context, state, block.Meta, block.Window, block.Stats);
            }

            if (knownBlock is not null)
            {
                return await DecideMetaChecksAsync(context, state, checks).ConfigureAwait(false)
                    ?? MetaBreach(context, state, knownBlock.Value.Meta, knownBlock.Value.Window, knownBlock.Value.Stats);
            }
        }

        var metaChecks = checks.Count;
        AddLimitChecks(context, state, limits, checks);
        var outcomes = new StoreOutcome[checks.Count];
        var decided = checks.Count == 0 ? 0 : await storage.DecideAsync(checks.Checks, outcomes).ConfigureAwait(false);
        if (MetaBreachIn(context, state, checks, outcomes, Math.Min(decided, metaChecks)) is { } metaBreach)
        {
            return metaBreach;
        }

        var evaluated = new List<RequestLimit>(checks.Count - metaChecks);
        List<(ResolvedLimit Resolved, RequestLimit Limit)>? failed = null;
        for (var i = metaChecks; i < decided; i++)
        {
            var outcome = outcomes[i];
            if (outcome.Kind == StoreOutcomeKind.Skipped)
            {
                continue;
            }

            if (outcome.Kind == StoreOutcomeKind.FallBack)
            {
                state.NeedsFallbackLimits = true;
                return null;
            }

            ThrowIfUnavailable(outcome);
            var resolved = checks.Limit(i);
            var check = checks[i];
            var limit = new RequestLimit(resolved.Definition, check.Window, !outcome.Decision.Allowed, outcome.Decision.Stats);
            evaluated.Add(limit);
            if (resolved.Definition.DeductWhen is { } predicate)
            {
                state.AddDeduction(new PendingDeduction(limit, check.Cost, predicate));
            }

            if (!outcome.Decision.Allowed)
            {
                RateLimitLog.LimitExceeded(logger, resolved.Item.ToString(), RateLimitLog.Bounded(check.Window.Key), RateLimitLog.Bounded(check.Window.Scope));
                (failed ??= []).Add((resolved, limit));
            }
        }

        // Every phase describes its own limits, even none, as each of the original's phases overwrites the current limits.
        state.CurrentLimits = evaluated;
        state.CurrentLimit = failed is not null ? failed[^1].Limit : FirstUnshared(evaluated);

        return failed is null ? null : Reject(context, state, failed);
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

    /// <summary>Throws the storage error of an outcome that is neither a decision nor a skip.</summary>
    internal static void ThrowIfUnavailable(in StoreOutcome outcome)
    {
        if (outcome.Kind is StoreOutcomeKind.FailClosed or StoreOutcomeKind.Failed)
        {
            throw outcome.Failure as RateLimitStorageUnavailableException
                ?? new RateLimitStorageUnavailableException("Rate limit storage is unreachable.", outcome.Failure);
        }
    }

    private static RequestLimit? FirstUnshared(List<RequestLimit> evaluated)
    {
        foreach (var limit in evaluated)
        {
            if (!limit.Shared)
            {
                return limit;
            }
        }

        return evaluated.Count > 0 ? evaluated[0] : null;
    }

    /// <summary>The limits of a phase that count for this request, shortest granularity first.</summary>
    private void AddLimitChecks(HttpContext context, RateLimitRequestState state, List<ResolvedLimit> limits, PhaseChecks checks)
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

    private Breach Reject(HttpContext context, RateLimitRequestState state, List<(ResolvedLimit Resolved, RequestLimit Limit)> failed)
    {
        IResult? response = null;
        foreach (var (resolved, limit) in failed)
        {
            response = RunCallback(_options.OnBreach, context, limit, response, meta: false);
            if (resolved.Definition.OnBreach != _options.OnBreach)
            {
                response = RunCallback(resolved.Definition.OnBreach, context, limit, response, meta: false);
            }
        }

        // One breach per rejected request, whatever the number of broken limits.
        RecordBreaches(context, state, _limits.Meta);
        foreach (var (resolved, _) in failed)
        {
            RecordBreaches(context, state, resolved.Definition.MetaDefinitions);
        }

        var reported = failed[0];
        foreach (var candidate in failed)
        {
            if (candidate.Resolved.Item.Granularity.Seconds < reported.Resolved.Item.Granularity.Seconds)
            {
                reported = candidate;
            }
        }

        return new Breach(reported.Limit, reported.Resolved.Definition.Describe(context, reported.Resolved.Item), response);
    }

    /// <summary>
    /// Adds a check for each meta limit that counts for this request, until one this node already knows to be blocked,
    /// which is returned instead.
    /// </summary>
    private KnownBlock? AddMetaChecks(HttpContext context, RateLimitRequestState state, IReadOnlyList<LimitDefinition> metaLimits, PhaseChecks checks)
    {
        if (metaLimits.Count == 0)
        {
            return null;
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
                return new KnownBlock(meta, window, new WindowStats(0, until));
            }

            checks.AddMeta(meta, window, meta.Definition.CostFor(context));
        }

        return null;
    }

    private async ValueTask<Breach?> DecideMetaChecksAsync(HttpContext context, RateLimitRequestState state, PhaseChecks checks)
    {
        var outcomes = new StoreOutcome[checks.Count];
        var decided = await storage.DecideAsync(checks.Checks, outcomes).ConfigureAwait(false);
        return MetaBreachIn(context, state, checks, outcomes, decided);
    }

    /// <summary>The breach of the first meta check that refused; <see langword="null"/> when none of the first <paramref name="count"/> did.</summary>
    private Breach? MetaBreachIn(HttpContext context, RateLimitRequestState state, PhaseChecks checks, StoreOutcome[] outcomes, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var outcome = outcomes[i];
            ThrowIfUnavailable(outcome);
            if (outcome.Kind != StoreOutcomeKind.Decided || outcome.Decision.Allowed)
            {
                continue;
            }

            var window = checks[i].Window;
            var stats = outcome.Decision.Stats;
            blocked.Block(new WindowRef(window), stats.ResetAt, time.GetUtcNow());
            return MetaBreach(context, state, checks.Limit(i), window, stats);
        }

        return null;
    }

    private Breach MetaBreach(HttpContext context, RateLimitRequestState state, ResolvedLimit meta, RateLimitWindowKey window, WindowStats stats)
    {
        var limit = new RequestLimit(meta.Definition, window, breached: true, stats);
        state.CurrentLimit = limit;
        state.CurrentLimits = [limit];
        RateLimitLog.MetaLimitExceeded(logger, meta.Item.ToString(), RateLimitLog.Bounded(window.Key), state.Endpoint);
        var response = RunCallback(meta.Definition.OnBreach ?? _options.OnMetaBreach, context, limit, null, meta: true);
        return new Breach(limit, meta.Definition.Describe(context, meta.Item), response);
    }

    private void RecordBreaches(HttpContext context, RateLimitRequestState state, IReadOnlyList<LimitDefinition> metaLimits)
    {
        if (metaLimits.Count == 0)
        {
            return;
        }

        var resolved = new List<ResolvedLimit>();
        Resolve(context, state, metaLimits, resolved);
        foreach (var meta in resolved)
        {
            if (meta.Definition.ExemptWhen?.Invoke(context) != true && WindowFor(context, state, meta) is { } window)
            {
                storage.RecordBreach(window);
            }
        }
    }

    private IResult? RunCallback(Func<BreachContext, IResult?>? callback, HttpContext context, RequestLimit limit, IResult? current, bool meta)
    {
        if (callback is null)
        {
            return current;
        }

        try
        {
            return callback(new BreachContext(context, limit)) ?? current;
        }
        catch (Exception e) when (_options.SwallowErrors)
        {
            if (meta)
            {
                RateLimitLog.OnMetaBreachFailed(logger, e.Message, e);
            }
            else
            {
                RateLimitLog.OnBreachFailed(logger, e.Message, e);
            }

            return current;
        }
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
        foreach (var definition in definitions)
        {
            if (definition.Value.Provider is not { } provider)
            {
                foreach (var item in definition.Value.Items)
                {
                    into.Add(new ResolvedLimit(definition, item));
                }

                continue;
            }

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
                into.Add(new ResolvedLimit(definition, item));
            }
        }

        return allLoaded;
    }

    /// <summary>A meta limit this node already knows to be blocking the client, and until when.</summary>
    private readonly record struct KnownBlock(ResolvedLimit Meta, RateLimitWindowKey Window, WindowStats Stats);
}
