using Microsoft.Extensions.DependencyInjection;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>How many windows the node's in-process store holds.</summary>
internal sealed class MemoryStoreProbe(IServiceProvider services)
{
    private readonly MemoryRateLimitStore _store = services.GetRequiredService<MemoryRateLimitStore>();

    /// <summary>How many windows the store holds.</summary>
    public int Count => _store.Count;
}
