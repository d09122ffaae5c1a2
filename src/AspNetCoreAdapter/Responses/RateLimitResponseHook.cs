using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Runs when the response starts, with its status known and its headers not yet sent: spends the <c>DeductWhen</c> limits
/// whose predicate holds, then writes the headers, so they already count this request's deductions (Flask-Limiter's
/// <c>after_request</c>).
/// </summary>
internal sealed class RateLimitResponseHook(
    LimitEvaluator evaluator,
    RateLimitHeaderWriter headers,
    IOptions<RateLimitOptions> options,
    TimeProvider time,
    ILogger<RateLimitResponseHook> logger)
{
    private static readonly Func<object, Task> OnStarting = static state =>
    {
        var (hook, context, request) = ((RateLimitResponseHook, HttpContext, RateLimitRequestState))state;
        return hook.RunAsync(context, request);
    };

    private readonly RateLimitOptions _options = options.Value;

    public void Register(HttpContext context, RateLimitRequestState state)
    {
        if (state.ResponseHookRegistered || context.Response.HasStarted)
        {
            return;
        }

        state.ResponseHookRegistered = true;
        context.Response.OnStarting(OnStarting, (this, context, state));
    }

    private async Task RunAsync(HttpContext context, RateLimitRequestState state)
    {
        if (state.Deductions is { } deductions)
        {
            try
            {
                foreach (var deduction in deductions)
                {
                    if (deduction.Predicate(context.Response))
                    {
                        var limit = deduction.Limit;
                        var outcome = await evaluator.Storage
                            .DecideAsync(new WindowCheck(limit.Definition, limit.Window, WindowOperation.Hit, deduction.Cost, StopIfRefused: false))
                            .ConfigureAwait(false);
                        LimitEvaluator.ThrowIfUnavailable(outcome);
                        if (outcome.Kind == StoreOutcomeKind.Decided)
                        {
                            limit.Update(outcome.Decision.Stats);
                        }
                    }
                }
            }
            catch (Exception e) when (_options.SwallowErrors || IsFailedClosed(e))
            {
                RateLimitLog.DeductErrorSwallowed(logger, e);
            }
        }

        if (!_options.HeadersEnabled || state.CurrentLimit is not { } current)
        {
            return;
        }

        try
        {
            // A window that reset while the endpoint ran is described as it is now, not as it was.
            if (current.ResetAt < time.GetUtcNow())
            {
                var outcome = await evaluator.Storage
                    .DecideAsync(new WindowCheck(current.Definition, current.Window, WindowOperation.Stats, 0, StopIfRefused: false))
                    .ConfigureAwait(false);
                LimitEvaluator.ThrowIfUnavailable(outcome);
                if (outcome.Kind == StoreOutcomeKind.Decided)
                {
                    current.Update(outcome.Decision.Stats);
                }
            }

            headers.Write(context.Response, state);
        }
        catch (Exception e) when (_options.SwallowErrors || IsFailedClosed(e))
        {
            RateLimitLog.HeaderErrorSwallowed(logger, e);
        }
    }

    // Once the endpoint has run, a limit that fails closed has nothing left to reject.
    private static bool IsFailedClosed(Exception e) => e is RateLimitStorageUnavailableException { FailedClosed: true };
}
