using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>Checks a limit from inside a handler, for code paths that endpoint metadata cannot describe.</summary>
public interface IRequestLimiter
{
    /// <summary>
    /// Spends one request (or the configured cost) of <paramref name="limit"/> for the current client, counted for the current
    /// endpoint, and updates <see cref="IRateLimitFeature"/>.
    /// </summary>
    /// <param name="context">The current request.</param>
    /// <param name="limit">One or more limits in rate-limit notation, e.g. <c>1/second</c> or <c>1/second;10/minute</c>.</param>
    /// <param name="configure">Optional settings: key selector, cost, scope, shared, error message.</param>
    /// <param name="cancellationToken">Cancels the wait for the counter.</param>
    /// <exception cref="RateLimitExceededException">A limit is exceeded; unless caught, the middleware answers 429.</exception>
    /// <exception cref="FormatException"><paramref name="limit"/> is not valid rate-limit notation.</exception>
    ValueTask LimitAsync(HttpContext context, string limit, Action<RateLimitBuilder>? configure = null, CancellationToken cancellationToken = default);
}
