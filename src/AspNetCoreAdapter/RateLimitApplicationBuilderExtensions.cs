using Microsoft.AspNetCore.Http;
using Orleans.RateLimit.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds Orleans.RateLimit's middleware to the request pipeline.</summary>
public static class RateLimitApplicationBuilderExtensions
{
    /// <summary>
    /// Limits requests from their endpoint's metadata. Place it after <c>UseRouting()</c> (a <c>WebApplication</c> routes
    /// first by default) and before the endpoints; register the services with <c>AddOrleansRateLimiting()</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException"><c>AddOrleansRateLimiting()</c> was not called.</exception>
    public static IApplicationBuilder UseOrleansRateLimiting(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService(typeof(LimitEvaluator)) is null)
        {
            throw new InvalidOperationException(
                "UseOrleansRateLimiting() needs the limiter's services: call builder.Services.AddOrleansRateLimiting() first.");
        }

        return app.UseMiddleware<RateLimitMiddleware>();
    }
}
