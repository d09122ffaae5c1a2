using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Orleans.RateLimit.Grains;

/// <summary>
/// Identifies one rate-limit window: a limit under a strategy, counted for one client <see cref="Key"/> in one <see cref="Scope"/>.
/// Its <see cref="ToStorageKey"/> names it in storage and in messages.
/// </summary>
/// <remarks>
/// The storage key is <c>{strategy}/{amount}/{multiples}/{granularity}/{prefix}/{scope}/{key}</c>, the same parts Flask-Limiter puts
/// in its storage keys, so two limits with different amounts never share a counter. The prefix, scope and key come from users
/// (IP addresses, header values), so every character outside printable ASCII, and <c>%</c>, <c>/</c> and <c>#</c>, is
/// percent-escaped, which keeps distinct inputs distinct; a part longer than <see cref="MaxPartLength"/> after escaping is
/// replaced by a readable beginning, <c>#</c>, and the SHA-256 of the whole part.
/// </remarks>
/// <param name="Strategy">The strategy that counts the window.</param>
/// <param name="Limit">The limit.</param>
/// <param name="Scope">What the window is for: an endpoint, a shared scope name, <c>global</c> or <c>meta</c>.</param>
/// <param name="Key">Who the window counts: a client address, an API key.</param>
/// <param name="Prefix">An optional prefix that separates several limiters or applications sharing one cluster.</param>
public sealed record RateLimitWindowKey(RateLimitStrategy Strategy, RateLimitItem Limit, string Scope, string Key, string Prefix = "")
{
    /// <summary>The longest a user-supplied part may be, escaped, before it is replaced by a hash.</summary>
    public const int MaxPartLength = 128;

    private const int HashedPartReadablePrefix = 40;

    /// <summary>The storage key of this window: escaped, bounded in length, and distinct for distinct windows.</summary>
    public string ToStorageKey()
    {
        ArgumentNullException.ThrowIfNull(Limit);
        var builder = new StringBuilder(64 + Scope.Length + Key.Length + Prefix.Length);
        builder.Append(StrategyToken(Strategy)).Append('/')
            .Append(Limit.Amount.ToString(CultureInfo.InvariantCulture)).Append('/')
            .Append(Limit.Multiples.ToString(CultureInfo.InvariantCulture)).Append('/')
            .Append(Limit.Granularity.Name).Append('/');
        AppendPart(builder, Prefix);
        builder.Append('/');
        AppendPart(builder, Scope);
        builder.Append('/');
        AppendPart(builder, Key);
        return builder.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => ToStorageKey();

    /// <summary>The name Flask-Limiter uses for a strategy: <c>fixed-window</c>, <c>moving-window</c>, <c>sliding-window-counter</c>.</summary>
    internal static string StrategyToken(RateLimitStrategy strategy) => strategy switch
    {
        RateLimitStrategy.FixedWindow => "fixed-window",
        RateLimitStrategy.MovingWindow => "moving-window",
        RateLimitStrategy.SlidingWindowCounter => "sliding-window-counter",
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "Unknown rate-limit strategy."),
    };

    private static void AppendPart(StringBuilder builder, string part)
    {
        ArgumentNullException.ThrowIfNull(part);
        var start = builder.Length;
        var readableEnd = -1;
        foreach (var c in part)
        {
            AppendEscaped(builder, c);
            if (readableEnd < 0 && builder.Length - start > HashedPartReadablePrefix)
            {
                readableEnd = builder.Length;
            }

            if (builder.Length - start > MaxPartLength)
            {
                // Too long to keep: keep a readable beginning (cut between escapes) and name the whole by its hash.
                builder.Length = readableEnd;
                builder.Append('#');
                var hash = SHA256.HashData(MemoryMarshal.AsBytes(part.AsSpan()));
                builder.Append(Convert.ToHexStringLower(hash));
                return;
            }
        }
    }

    private static void AppendEscaped(StringBuilder builder, char c)
    {
        if (c is > ' ' and < '\u007F' and not '%' and not '/' and not '#')
        {
            builder.Append(c);
        }
        else if (c < '\u0080')
        {
            builder.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
        }
        else
        {
            builder.Append("%u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
        }
    }
}
