using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// A limit as configured: either fixed text in rate-limit notation (<c>10/minute</c>, <c>1/second;100/hour</c>), parsed
/// when it is configured, or a function that picks the text per request (a dynamic limit).
/// </summary>
public sealed class RateLimitValue
{
    private RateLimitValue(string? text, IReadOnlyList<RateLimitItem> items, Func<HttpContext, string?>? provider)
    {
        Text = text;
        Items = items;
        Provider = provider;
    }

    /// <summary>The configured text, or <see langword="null"/> for a dynamic limit.</summary>
    public string? Text { get; }

    /// <summary>The function that picks the limit for a request, or <see langword="null"/> for fixed text.</summary>
    public Func<HttpContext, string?>? Provider { get; }

    /// <summary>The parsed limits of fixed text; empty for a dynamic limit.</summary>
    public IReadOnlyList<RateLimitItem> Items { get; }

    /// <summary>Parses fixed text now, so that a malformed limit fails where it is configured.</summary>
    /// <exception cref="FormatException"><paramref name="text"/> is not valid rate-limit notation; the message quotes it.</exception>
    public static RateLimitValue Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new RateLimitValue(text, RateLimitItem.ParseMany(text), null);
    }

    /// <summary>
    /// A dynamic limit: <paramref name="provider"/> runs for every request it applies to. Returning <see langword="null"/> or an
    /// empty string skips the limit for that request; text that does not parse is logged as an error and skipped too. An
    /// endpoint whose own limits are all skipped this way gets its group and default limits, as in Flask-Limiter.
    /// </summary>
    public static RateLimitValue Dynamic(Func<HttpContext, string?> provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return new RateLimitValue(null, [], provider);
    }

    internal static RateLimitValue FromParsed(string text, IReadOnlyList<RateLimitItem> items) => new(text, items, null);

    /// <summary>
    /// The limit's own settings, applied to its definition when the limiter's limits are built; <see langword="null"/> for a
    /// plain limit, which takes the list-wide settings instead (Flask-Limiter's finalized <c>Limit</c> objects).
    /// </summary>
    internal Action<LimitDefinition>? Settings { get; private init; }

    /// <summary>This limit with its own settings.</summary>
    internal RateLimitValue WithSettings(Action<LimitDefinition> settings) => new(Text, Items, Provider) { Settings = settings };

    /// <summary>Whether both values are the same text or the same function (their settings aside).</summary>
    internal bool SameAs(RateLimitValue other) =>
        ReferenceEquals(this, other) || (Text == other.Text && Provider == other.Provider);

    /// <inheritdoc />
    public override string ToString() => Text ?? "(dynamic limit)";
}
