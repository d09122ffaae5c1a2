using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>Builds the plans of every endpoint known at startup, so a malformed limit in metadata fails the start.</summary>
internal sealed class EndpointLimitValidator(IServiceProvider services)
{
    public IEnumerable<(Endpoint Endpoint, EndpointLimitPlan Plan)> BuildPlans()
    {
        if (services.GetService<EndpointDataSource>() is not { } endpoints)
        {
            return [];
        }

        var plans = new List<(Endpoint, EndpointLimitPlan)>();
        foreach (var endpoint in endpoints.Endpoints)
        {
            plans.Add((endpoint, EndpointLimitPlanBuilder.Build(endpoint)));
        }

        return plans;
    }
}
