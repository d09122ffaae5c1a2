namespace Orleans.RateLimit.AspNetCore;

/// <summary>The layers of stores the limiter was built with: the one it talks to, and the leasing layer when there is one.</summary>
/// <param name="Top">What the evaluator calls.</param>
/// <param name="Leased">The layer that decides from budgets leased to this node; absent with the memory backend.</param>
internal sealed record RateLimitStores(ResilientRateLimitStore Top, LeasedRateLimitStore? Leased) : IDisposable
{
    public void Dispose() => Leased?.Dispose();
}
