using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Decides a request as Flask-Limiter does: the limits the middleware phase would evaluate (application limits, and group
/// and default limits of endpoints without limits of their own), then the endpoint's own limits as its decorator phase would.
/// Each phase tests the meta limits first, then counts its limits shortest granularity first. Both phases go to the store
/// as one batch of checks, so a request whose windows share an owner costs one call.
/// </summary>
internal sealed partial class LimitEvaluator(
    ResilientRateLimitStore storage,
    IOptions<RateLimitOptions> options,
    TimeProvider time,
    LimitTextCache texts,
    MetaBlockCache blocked,
    RateLimitMetrics metrics,
    ILogger<LimitEvaluator> logger)
{
    private readonly RateLimitOptions _options = options.Value;
    private readonly LimiterLimits _limits = new(options.Value);

    public ResilientRateLimitStore Storage => storage;

    /// <summary>Decides a request for the middleware, and counts it in <c>orleans_ratelimit.requests</c> if anyone listens.</summary>
    public ValueTask<Breach?> EvaluateRequestAsync(HttpContext context, RateLimitRequestState state) =>
        metrics.RequestsEnabled ? EvaluateAndCountAsync(context, state) : EvaluateWithFallbackLimitsAsync(context, state);

    private async ValueTask<Breach?> EvaluateAndCountAsync(HttpContext context, RateLimitRequestState state)
    {
        state.TracksDecisionPaths = true;
        var breach = await EvaluateWithFallbackLimitsAsync(context, state).ConfigureAwait(false);
        RecordRequest(state, breach);
        return breach;
    }

    private async ValueTask<Breach?> EvaluateWithFallbackLimitsAsync(HttpContext context, RateLimitRequestState state)
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

        // An endpoint given limits of its own (even one exempt from them, or whose dynamic limits resolve to nothing for this
        // request) is a decorated route in Flask-Limiter: before it runs only the application limits count; its own, group
        // and default limits count in its decorator phase, which decides the headers even when it has no limits at all.
        var routeLimits = new List<ResolvedLimit>();
        var decorated = plan.HasOwnLimits;
        if (decorated)
        {
            Resolve(context, state, plan.RouteLimits, routeLimits);
        }
        else
        {
            Resolve(context, state, plan.GroupLimits, middlewarePhase);
            if (!plan.IsExempt(ExemptionScope.Default) && (plan.GroupLimitsAllAdditive || NoneAppliesTo(plan.GroupLimits, method)))
            {
                Resolve(context, state, _limits.Default, middlewarePhase);
            }
        }

        if (state.UsesFallbackLimits && !plan.IsExempt(ExemptionScope.Default))
        {
            Resolve(context, state, _limits.Fallback, middlewarePhase);
        }

        var checks = new RequestChecks(middlewarePhase.Count + routeLimits.Count + _limits.Meta.Count + _limits.Default.Count);
        var endedByKnownBlock = !AddPhase(context, state, middlewarePhase, _limits.Meta, checks, anotherFollows: decorated);
        if (decorated && !endedByKnownBlock)
        {
            // Decided in the same call as the middleware phase, after it: its last check stops this phase when any of its
            // checks refused, as the original never reaches its decorators after a breach.
            var decoratorPhase = routeLimits;
            var allAdditive = AllAdditive(routeLimits);
            if (allAdditive)
            {
                Resolve(context, state, plan.GroupLimits, decoratorPhase);
                allAdditive = plan.GroupLimitsAllAdditive;
            }

            if (!plan.IsExempt(ExemptionScope.Default) && (allAdditive || NoneAppliesTo(routeLimits, method)))
            {
                Resolve(context, state, _limits.Default, decoratorPhase);
            }

            // The limiter's meta limits are tested in the middleware phase; only the route limits' own are new here.
            AddPhase(context, state, decoratorPhase, metaLimits: [], checks, anotherFollows: false);
        }

        return await DecideAsync(context, state, checks).ConfigureAwait(false);
    }

    /// <summary>Evaluates limits checked from a handler, as Flask-Limiter's context manager does.</summary>
    public ValueTask<Breach?> EvaluateInHandlerAsync(HttpContext context, RateLimitRequestState state, LimitDefinition definition, IReadOnlyList<RateLimitItem> items)
    {
        var limits = new List<ResolvedLimit>(items.Count);
        foreach (var item in items)
        {
            limits.Add(new ResolvedLimit(definition, item));
        }

        var checks = new RequestChecks(limits.Count + _limits.Meta.Count);
        AddPhase(context, state, limits, _limits.Meta, checks, anotherFollows: false);
        return DecideAsync(context, state, checks);
    }

    /// <summary>Sends the checks to the store in one go and reads the outcome phase by phase.</summary>
    private async ValueTask<Breach?> DecideAsync(HttpContext context, RateLimitRequestState state, RequestChecks checks)
    {
        var outcomes = new StoreOutcome[checks.Count];
        var decided = checks.Count == 0 ? 0 : await storage.DecideAsync(checks.Checks, outcomes).ConfigureAwait(false);
        if (state.TracksDecisionPaths)
        {
            NoteDecisionPaths(state, outcomes.AsSpan(0, decided));
        }

        var start = 0;
        for (var phase = 0; phase < checks.Phases; phase++)
        {
            var end = checks.PhaseEnd(phase);
            if (start > decided)
            {
                break;
            }

            var breach = PhaseBreach(context, state, checks, outcomes, start, Math.Min(end, decided), phase);
            if (breach is not null || state.NeedsFallbackLimits)
            {
                return breach;
            }

            start = end;
        }

        return null;
    }

    /// <summary>The breach of one phase, if any: a meta limit that refused or is known to block, or broken limits.</summary>
    private Breach? PhaseBreach(HttpContext context, RateLimitRequestState state, RequestChecks checks, StoreOutcome[] outcomes, int start, int end, int phase)
    {
        var evaluated = new List<RequestLimit>(end - start);
        List<(ResolvedLimit Resolved, RequestLimit Limit)>? failed = null;
        for (var i = start; i < end; i++)
        {
            var outcome = outcomes[i];
            if (outcome.Kind == StoreOutcomeKind.Skipped)
            {
                continue;
            }

            if (outcome.Kind == StoreOutcomeKind.FallBack && !checks.IsMeta(i))
            {
                state.NeedsFallbackLimits = true;
                return null;
            }

            ThrowIfUnavailable(outcome);
            var resolved = checks.Limit(i);
            var check = checks[i];
            if (checks.IsMeta(i))
            {
                if (!outcome.Decision.Allowed)
                {
                    blocked.Block(new WindowRef(check.Window), outcome.Decision.Stats.ResetAt, time.GetUtcNow());
                    return MetaBreach(context, state, resolved, check.Window, outcome.Decision.Stats);
                }

                continue;
            }

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

        if (checks.Blocked is ({ } block, var blockedPhase) && blockedPhase == phase)
        {
            return MetaBreach(context, state, block.Meta, block.Window, block.Stats);
        }

        // Every phase describes its own limits, even none, as each of the original's phases overwrites the current limits.
        state.CurrentLimits = evaluated;
        state.CurrentLimit = failed is not null ? failed[^1].Limit : FirstUnshared(evaluated);
        return failed is null ? null : Reject(context, state, failed);
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
}
