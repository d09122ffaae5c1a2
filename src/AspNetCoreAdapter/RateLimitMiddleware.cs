using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Limits requests after routing, from the endpoint's rate-limit metadata: answers 429 when a limit breaks, and puts
/// <see cref="IRateLimitFeature"/> on the request.
/// </summary>
internal sealed class RateLimitMiddleware
{
    private readonly RequestDelegate _next;
    private readonly RateLimitOptions _options;
    private readonly LimitEvaluator _evaluator;
    private readonly RateLimitResponseHook _hook;
    private readonly ILogger<RateLimitMiddleware> _logger;
    private readonly ConditionalWeakTable<Endpoint, EndpointLimitPlan> _plans = [];

    public RateLimitMiddleware(
        RequestDelegate next,
        IOptions<RateLimitOptions> options,
        LimitEvaluator evaluator,
        RateLimitResponseHook hook,
        EndpointLimitValidator validator,
        ILogger<RateLimitMiddleware> logger)
    {
        _next = next;
        _options = options.Value;
        _evaluator = evaluator;
        _hook = hook;
        _logger = logger;

        // The pipeline is built as the host starts: a malformed limit in any endpoint's metadata fails the start here.
        foreach (var (endpoint, plan) in validator.BuildPlans())
        {
            _plans.AddOrUpdate(endpoint, plan);
        }
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (!_options.Enabled || context.GetEndpoint() is not { } endpoint)
        {
            return _next(context);
        }

        var plan = _plans.GetValue(endpoint, EndpointLimitPlanBuilder.Build);
        if (plan.IsDisabled)
        {
            return _next(context);
        }

        var identifier = _options.RequestIdentifier is { } identify ? identify(context) : plan.Identifier;
        if (string.IsNullOrEmpty(identifier) || IsFiltered(context))
        {
            return _next(context);
        }

        return LimitAsync(context, new RateLimitRequestState(identifier, plan));
    }

    private bool IsFiltered(HttpContext context)
    {
        foreach (var filter in _options.RequestFilters)
        {
            if (filter(context))
            {
                return true;
            }
        }

        return false;
    }

    private async Task LimitAsync(HttpContext context, RateLimitRequestState state)
    {
        context.Features.Set<IRateLimitFeature>(state);
        context.Features.Set(state);
        Breach? breach;
        try
        {
            breach = await _evaluator.EvaluateRequestAsync(context, state).ConfigureAwait(false);
        }
        catch (RateLimitStorageUnavailableException e) when (e.FailedClosed)
        {
            RateLimitLog.FailedClosed(_logger, e.Message);
            await RateLimitProblem.Unavailable().ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        catch (Exception e) when (_options.SwallowErrors)
        {
            RateLimitLog.RateLimitErrorSwallowed(_logger, e);
            state.CurrentLimit = null;
            state.CurrentLimits = [];
            state.Deductions = null;
            await _next(context).ConfigureAwait(false);
            return;
        }

        if (_options.HeadersEnabled || state.Deductions is not null)
        {
            _hook.Register(context, state);
        }

        if (breach is not null)
        {
            await RejectAsync(context, breach).ConfigureAwait(false);
            return;
        }

        try
        {
            await _next(context).ConfigureAwait(false);
        }
        catch (RateLimitExceededException e) when (!context.Response.HasStarted)
        {
            await RejectAsync(context, new Breach(e.Limit, e.Description, e.Response)).ConfigureAwait(false);
        }
        catch (RateLimitStorageUnavailableException e) when (e.FailedClosed && !context.Response.HasStarted)
        {
            RateLimitLog.FailedClosed(_logger, e.Message);
            await RateLimitProblem.Unavailable().ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    private static Task RejectAsync(HttpContext context, Breach breach) =>
        (breach.Response ?? RateLimitProblem.For(breach.Description)).ExecuteAsync(context);
}
