using System.Reflection;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// How many windows the node's in-process store holds. The store is internal to the adapter, which does not show its
/// internals to the tests, so it is reached by name.
/// </summary>
internal sealed class MemoryStoreProbe
{
    private const string StoreTypeName = "Orleans.RateLimit.AspNetCore.MemoryRateLimitStore";

    private readonly object _store;
    private readonly PropertyInfo _count;

    public MemoryStoreProbe(IServiceProvider services)
    {
        var type = typeof(RateLimitOptions).Assembly.GetType(StoreTypeName, throwOnError: true)!;
        _store = services.GetService(type) ?? throw new InvalidOperationException($"{StoreTypeName} is not registered.");
        _count = type.GetProperty("Count") ?? throw new InvalidOperationException($"{StoreTypeName} has no Count.");
    }

    /// <summary>How many windows the store holds.</summary>
    public int Count => (int)_count.GetValue(_store)!;
}
