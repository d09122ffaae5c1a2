namespace Orleans.RateLimit.AspNetCore;

/// <summary>The limiter's state for one request; the middleware puts it on the request's features.</summary>
internal sealed class RateLimitRequestState(string endpoint, EndpointLimitPlan plan) : IRateLimitFeature
{
    public string Endpoint { get; } = endpoint;

    public EndpointLimitPlan Plan { get; } = plan;

    public RequestLimit? CurrentLimit { get; set; }

    public IReadOnlyList<RequestLimit> CurrentLimits { get; set; } = [];

    /// <summary>Limits with <c>DeductWhen</c> that were only tested, to spend when the response starts.</summary>
    public List<PendingDeduction>? Deductions { get; set; }

    /// <summary>Whether the response-start callback (deductions, headers) is registered.</summary>
    public bool ResponseHookRegistered { get; set; }

    /// <summary>Whether the in-memory fallback limits stand in for the request's own limits (the cluster is unreachable).</summary>
    public bool UsesFallbackLimits { get; set; }

    /// <summary>Whether a limit of this request gave way to the fallback limits while it was being evaluated.</summary>
    public bool NeedsFallbackLimits { get; set; }

    /// <summary>Whether <see cref="DecidedBy"/> is kept: only for requests counted in the metrics.</summary>
    public bool TracksDecisionPaths { get; set; }

    /// <summary>
    /// The highest-precedence path among the store outcomes of the request's checks, over every evaluation of it;
    /// <see langword="null"/> while no store decided a check.
    /// </summary>
    public DecisionPath? DecidedBy { get; set; }

    /// <summary>Forgets what was evaluated, to decide the request again with the fallback limits (Flask-Limiter clears its seen limits).</summary>
    public void StartOverWithFallbackLimits()
    {
        CurrentLimit = null;
        CurrentLimits = [];
        Deductions = null;
        NeedsFallbackLimits = false;
        UsesFallbackLimits = true;
    }

    public void AddDeduction(PendingDeduction deduction) => (Deductions ??= []).Add(deduction);
}
