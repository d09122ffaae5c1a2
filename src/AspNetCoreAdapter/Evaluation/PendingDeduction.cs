using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>A <c>DeductWhen</c> limit tested before the endpoint ran, spent when the response starts if its predicate holds.</summary>
internal sealed record PendingDeduction(RequestLimit Limit, int Cost, Func<HttpResponse, bool> Predicate);
