namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// What the limiter must answer on one endpoint whose dynamic limit and default limits all count by one key, with fixed
/// windows and a clock that stands still, written out plainly from Flask-Limiter's rules: text that is missing or empty
/// leaves the endpoint to the defaults; text that does not parse is logged and leaves it to the defaults too; limits are
/// counted shortest period first, each hit counts even when it fails, and the first failure rejects; an empty key skips
/// each limit with a logged error. The dynamic limit and the defaults count in the same window when they are the same limit.
/// </summary>
internal sealed class HostileTrafficModel(string endpoint, IReadOnlyList<RateLimitItem> defaults)
{
    private readonly Dictionary<(RateLimitItem Limit, string Key), long> _hits = [];

    /// <summary>Every error the server must have logged, in order.</summary>
    public List<string> ExpectedErrors { get; } = [];

    /// <summary>Each dynamic limit text that must have been rejected, with the message its rejection must log.</summary>
    public List<(string Text, string Message)> RejectedTexts { get; } = [];

    public int SkippedLimits { get; private set; }

    public int DistinctWindows => _hits.Count;

    /// <summary>The status the next request must get, and for a 429 the limit it must name.</summary>
    /// <param name="key">The key as the server sees it; <see langword="null"/> when the header is missing.</param>
    /// <param name="limitText">The dynamic limit as the server sees it; <see langword="null"/> when the header is missing.</param>
    public (int Status, string? BrokenLimit) Next(string? key, string? limitText)
    {
        var limits = defaults;
        if (!string.IsNullOrEmpty(limitText))
        {
            if (RateLimitItem.TryParseMany(limitText, out var items, out var error))
            {
                limits = items;
            }
            else
            {
                var message = $"failed to load ratelimit for endpoint {endpoint}: {error}";
                ExpectedErrors.Add(message);
                RejectedTexts.Add((limitText, message));
            }
        }

        foreach (var limit in limits.OrderBy(l => l.Granularity.Seconds))
        {
            if (string.IsNullOrEmpty(key))
            {
                ExpectedErrors.Add($"Skipping limit: {limit}. Empty value found in parameters.");
                SkippedLimits++;
                continue;
            }

            var hits = _hits[(limit, key)] = _hits.GetValueOrDefault((limit, key)) + 1;
            if (hits > limit.Amount)
            {
                return (429, limit.ToString());
            }
        }

        return (200, null);
    }
}
