using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>What the evaluator does with a breach: callbacks, the reported limit, and the breach counted against meta limits.</summary>
internal sealed partial class LimitEvaluator
{
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
}
