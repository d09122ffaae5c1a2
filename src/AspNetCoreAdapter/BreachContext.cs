using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>What an <c>OnBreach</c> or <c>OnMetaBreach</c> callback learns about a broken limit.</summary>
public sealed class BreachContext
{
    internal BreachContext(HttpContext httpContext, RequestLimit limit)
    {
        HttpContext = httpContext;
        Limit = limit;
    }

    /// <summary>The request that broke the limit.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>The broken limit, with <see cref="RequestLimit.Breached"/> set.</summary>
    public RequestLimit Limit { get; }
}
