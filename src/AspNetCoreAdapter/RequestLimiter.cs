using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>Checks limits from inside a handler, with the request's endpoint as scope (Flask-Limiter's context manager).</summary>
internal sealed class RequestLimiter(LimitEvaluator evaluator, RateLimitResponseHook hook, LimitTextCache texts) : IRequestLimiter
{
    public async ValueTask LimitAsync(HttpContext context, string limit, Action<RateLimitBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(limit);
        if (!texts.TryParse(limit, out var items, out var error))
        {
            throw new FormatException(error);
        }

        // Without the middleware's state the request was filtered, disabled or not routed through the middleware at all.
        if (context.Features.Get<RateLimitRequestState>() is not { } state)
        {
            return;
        }

        cancellationToken.ThrowIfCancellationRequested();
        var definition = new LimitDefinition(LimitKind.Route, RateLimitValue.FromParsed(limit, items)) { Origin = $"in-handler limit {limit}" };
        configure?.Invoke(new RateLimitBuilder(definition));
        var breach = await evaluator.EvaluateInHandlerAsync(context, state, definition, items).ConfigureAwait(false);
        if (state.Deductions is not null || state.CurrentLimit is not null)
        {
            hook.Register(context, state);
        }

        if (breach is not null)
        {
            throw new RateLimitExceededException(breach.Limit, breach.Description) { Response = breach.Response };
        }
    }
}
