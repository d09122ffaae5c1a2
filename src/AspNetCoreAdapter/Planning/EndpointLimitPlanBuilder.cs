using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>Reads an endpoint's rate-limit metadata into an <see cref="EndpointLimitPlan"/>.</summary>
internal static class EndpointLimitPlanBuilder
{
    private const ExemptionScope GroupLimitExemptions = ExemptionScope.Meta | ExemptionScope.Descendants;

    /// <exception cref="InvalidOperationException">A limit in the metadata is malformed; the message names the endpoint and the limit.</exception>
    public static EndpointLimitPlan Build(Endpoint endpoint)
    {
        var metadata = endpoint.Metadata;
        if (metadata.GetMetadata<DisableRateLimitingAttribute>() is not null)
        {
            return EndpointLimitPlan.Disabled;
        }

        var routeLimits = new List<LimitDefinition>();
        var routeExemption = ExemptionScope.None;
        var groups = new List<GroupEntry>();
        try
        {
            foreach (var item in metadata)
            {
                switch (item)
                {
                    case IRouteLimitMetadata limit when limit.Group is null:
                        AddDistinct(routeLimits, limit.GetDefinition());
                        break;
                    case IRouteLimitMetadata limit:
                        AddDistinct(GroupOf(groups, limit.Group).Limits, limit.GetDefinition());
                        break;
                    case IRateLimitExemptionMetadata exemption when exemption.Group is null:
                        routeExemption |= exemption.Scope;
                        break;
                    case IRateLimitExemptionMetadata exemption:
                        GroupOf(groups, exemption.Group).Exemption |= exemption.Scope;
                        break;
                }
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new InvalidOperationException($"Invalid rate limit on endpoint '{endpoint.DisplayName}': {e.Message}", e);
        }

        // Nested groups inherit the conventions of the groups around them, so a group's exemption reaches its nested groups.
        var effective = routeExemption;
        foreach (var group in groups)
        {
            effective |= group.Exemption & ~ExemptionScope.Ancestors;
        }

        // An exempt endpoint ignores its own limits, as Flask-Limiter's exempt routes do; it still counts as one with limits
        // of its own, whose decorator phase runs with none of them.
        var hasOwnLimits = routeLimits.Count > 0;
        if (routeExemption != ExemptionScope.None)
        {
            routeLimits.Clear();
        }

        return new EndpointLimitPlan(false, effective, IdentifierOf(endpoint), hasOwnLimits, routeLimits, InheritedGroupLimits(groups));
    }

    // Flask-Limiter keeps the limits of a route, and of a blueprint, in an ordered set: identical ones count once.
    private static void AddDistinct(List<LimitDefinition> limits, LimitDefinition limit)
    {
        foreach (var existing in limits)
        {
            if (existing.SameAs(limit))
            {
                return;
            }
        }

        limits.Add(limit);
    }

    /// <summary>
    /// The endpoint's name, else its route pattern (attribute-routed actions too), else its display name (actions on
    /// conventional routes, whose pattern is shared by many actions).
    /// </summary>
    internal static string? IdentifierOf(Endpoint endpoint)
    {
        if (endpoint.Metadata.GetMetadata<IEndpointNameMetadata>() is { EndpointName: { Length: > 0 } name })
        {
            return name;
        }

        if (endpoint is RouteEndpoint { RoutePattern: { RawText: { Length: > 0 } pattern } routePattern }
            && !routePattern.RequiredValues.Keys.Any(key => routePattern.GetParameter(key) is not null))
        {
            return pattern;
        }

        // A conventional route ("{controller=Home}/{action=Index}") serves many actions through one pattern.
        return endpoint.DisplayName;
    }

    // Flask-Limiter's blueprint rules, read from the innermost group outwards: a group exempt from meta limits or with
    // Descendants contributes no group limits (nor do the groups around it); the innermost group with limits that all
    // override the defaults hides the groups around it; Ancestors hides the groups around it.
    private static List<LimitDefinition> InheritedGroupLimits(List<GroupEntry> groups)
    {
        var inherited = new List<LimitDefinition>();
        var seenLimitedGroup = false;
        for (var i = groups.Count - 1; i >= 0; i--)
        {
            var group = groups[i];
            if ((group.Exemption & GroupLimitExemptions) != 0)
            {
                break;
            }

            if (group.Limits.Count > 0)
            {
                inherited.InsertRange(0, group.Limits);
                if (!seenLimitedGroup && group.Limits.All(l => l.OverrideDefaults))
                {
                    break;
                }

                seenLimitedGroup = true;
            }

            if ((group.Exemption & ExemptionScope.Ancestors) != 0)
            {
                break;
            }
        }

        return inherited;
    }

    private static GroupEntry GroupOf(List<GroupEntry> groups, object? group)
    {
        foreach (var entry in groups)
        {
            if (ReferenceEquals(entry.Group, group))
            {
                return entry;
            }
        }

        var added = new GroupEntry(group!);
        groups.Add(added);
        return added;
    }

    private sealed class GroupEntry(object group)
    {
        public object Group { get; } = group;

        public List<LimitDefinition> Limits { get; } = [];

        public ExemptionScope Exemption { get; set; }
    }
}
