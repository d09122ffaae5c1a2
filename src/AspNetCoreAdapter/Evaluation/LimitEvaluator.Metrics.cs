namespace Orleans.RateLimit.AspNetCore;

/// <summary>How the evaluator counts requests in <c>orleans_ratelimit.requests</c>; only while someone listens to it.</summary>
internal sealed partial class LimitEvaluator
{
    /// <summary>Keeps the highest-precedence path among the outcomes of checks a store decided for the request.</summary>
    private static void NoteDecisionPaths(RateLimitRequestState state, ReadOnlySpan<StoreOutcome> decided)
    {
        foreach (var outcome in decided)
        {
            if (state.DecidedBy is not { } path || outcome.Path > path)
            {
                state.DecidedBy = outcome.Path;
            }
        }
    }

    /// <summary>
    /// Counts a request the middleware decided, once, after the fallback limits had their turn: limited when a regular limit
    /// rejected it, meta-limited when a meta limit did (also a block this node already knew of), exempt when nothing was left
    /// to check (every limit that would apply was skipped by <c>ExemptWhen</c>, an exemption scope, its methods or an empty
    /// key), allowed otherwise (also when only meta limits were checked: the request was checked). The path is the highest-precedence <see cref="DecisionPath"/> among the store outcomes of
    /// its checks; with none (exempt, or a known meta block), <see cref="DecisionPath.Memory"/>: the request was decided in
    /// this process without asking a store, and the lowest value claims no call or fallback that did not happen. A request
    /// that failed (a 503 from a limit that fails closed, a storage error) is not counted here, nor are limits checked later
    /// from its handler (<see cref="IRequestLimiter"/>): a request is counted once, by the middleware.
    /// </summary>
    private void RecordRequest(RateLimitRequestState state, Breach? breach)
    {
        var result = breach is not null ? breach.Limit.Definition.Kind == LimitKind.Meta ? RateLimitResult.MetaLimited : RateLimitResult.Limited
            : state.DecidedBy is null ? RateLimitResult.Exempt
            : RateLimitResult.Allowed;
        metrics.RequestDecided(result, state.DecidedBy ?? DecisionPath.Memory);
    }
}
