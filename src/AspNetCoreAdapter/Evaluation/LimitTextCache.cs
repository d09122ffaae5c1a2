using System.Collections.Concurrent;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Parses the text of dynamic and in-handler limits once per distinct text. Bounded, because the texts may come from
/// request data: past the bound, texts are parsed on every use instead of cached.
/// </summary>
internal sealed class LimitTextCache
{
    private const int MaxEntries = 1024;

    private readonly ConcurrentDictionary<string, Parsed> _parsed = new(StringComparer.Ordinal);

    public bool TryParse(string text, out IReadOnlyList<RateLimitItem> items, out string? error)
    {
        if (!_parsed.TryGetValue(text, out var parsed))
        {
            parsed = RateLimitItem.TryParseMany(text, out var fresh, out var message) ? new Parsed(fresh, null) : new Parsed([], message);
            if (_parsed.Count < MaxEntries)
            {
                _parsed.TryAdd(text, parsed);
            }
        }

        items = parsed.Items;
        error = parsed.Error;
        return error is null;
    }

    private sealed record Parsed(IReadOnlyList<RateLimitItem> Items, string? Error);
}
