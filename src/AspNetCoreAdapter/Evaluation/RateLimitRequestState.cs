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

    public void AddDeduction(PendingDeduction deduction) => (Deductions ??= []).Add(deduction);
}
