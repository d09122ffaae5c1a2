using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// A window on the wire and in its owner's dictionary: the raw parts of a <see cref="RateLimitWindowKey"/>, compared
/// ordinally, with the limit flattened to numbers so that nothing is built, escaped or allocated to name it.
/// </summary>
[GenerateSerializer, Immutable, Alias("orl.WindowRef")]
public readonly record struct WindowRef
{
    /// <summary>Names the window of <paramref name="key"/>.</summary>
    public WindowRef(RateLimitWindowKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Strategy = key.Strategy;
        Amount = key.Limit.Amount;
        Multiples = key.Limit.Multiples;
        GranularitySeconds = (int)key.Limit.Granularity.Seconds;
        Prefix = key.Prefix;
        Scope = Bounded(key.Scope);
        Key = Bounded(key.Key);
    }

    /// <summary>The longest key or scope a window holds as it is; a longer one is held as its beginning and its hash.</summary>
    public const int MaxPartLength = 128;

    /// <summary>The strategy that counts the window.</summary>
    [Id(0)]
    public RateLimitStrategy Strategy { get; init; }

    /// <summary>The limit's amount.</summary>
    [Id(1)]
    public long Amount { get; init; }

    /// <summary>The limit's multiples of its granularity.</summary>
    [Id(2)]
    public int Multiples { get; init; }

    /// <summary>The limit's granularity, in seconds.</summary>
    [Id(3)]
    public int GranularitySeconds { get; init; }

    /// <summary>The key prefix.</summary>
    [Id(4)]
    public string Prefix { get; init; } = "";

    /// <summary>What the window is for.</summary>
    [Id(5)]
    public string Scope { get; init; } = "";

    /// <summary>Who the window counts.</summary>
    [Id(6)]
    public string Key { get; init; } = "";

    /// <summary>The window's key with its limit, for storage ids and messages.</summary>
    /// <exception cref="FormatException">The limit is not one the parser could have made.</exception>
    public RateLimitWindowKey ToKey() => new(Strategy, ToLimit(), Scope, Key, Prefix);

    /// <summary>The limit this window counts.</summary>
    /// <exception cref="FormatException">The limit is not one the parser could have made.</exception>
    public RateLimitItem ToLimit()
    {
        foreach (var granularity in RateLimitGranularity.All)
        {
            if (granularity.Seconds == GranularitySeconds
                && Amount is >= 0 and <= RateLimitItem.MaxAmount
                && Multiples >= 1
                && (long)Multiples * granularity.Seconds <= RateLimitItem.MaxPeriodSeconds)
            {
                return new RateLimitItem(Amount, granularity, Multiples);
            }
        }

        throw new FormatException($"A window of {Amount} per {Multiples} × {GranularitySeconds} s is not a limit.");
    }

    /// <summary>
    /// Keys come from clients: one longer than <see cref="MaxPartLength"/> is held as its first 64 characters, <c>#</c> and
    /// the SHA-256 of the whole (129 characters), so a window costs bounded memory whatever a client sends. The bounded form
    /// is longer than any key held as it is, so it can't be forged by sending it.
    /// </summary>
    private static string Bounded(string part)
    {
        if (part.Length <= MaxPartLength)
        {
            return part;
        }

        var hash = SHA256.HashData(MemoryMarshal.AsBytes(part.AsSpan()));
        return string.Concat(part.AsSpan(0, 64), "#", Convert.ToHexStringLower(hash));
    }
}
