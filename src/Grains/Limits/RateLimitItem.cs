namespace Orleans.RateLimit;

/// <summary>
/// One rate limit: <see cref="Amount"/> units per <see cref="Multiples"/> × <see cref="Granularity"/>, for example <c>2 per 5 minutes</c>.
/// </summary>
/// <remarks>
/// Two items are equal when amount, multiples and granularity are equal. The string form is the one Flask-Limiter shows in its
/// 429 responses: always singular and always with the multiple (<c>1 per 1 day</c>).
/// </remarks>
public sealed class RateLimitItem : IEquatable<RateLimitItem>
{
    /// <summary>The largest amount a limit may allow.</summary>
    public const long MaxAmount = 1_000_000_000_000_000;

    /// <summary>The longest period a limit may span, in seconds: 100 years of 360 days.</summary>
    public const long MaxPeriodSeconds = 100 * 31_104_000L;

    /// <summary>Creates a limit of <paramref name="amount"/> per <paramref name="multiples"/> × <paramref name="granularity"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The amount is negative or above <see cref="MaxAmount"/>, the multiple is below 1, or the period exceeds <see cref="MaxPeriodSeconds"/>.</exception>
    public RateLimitItem(long amount, RateLimitGranularity granularity, int multiples = 1)
    {
        ArgumentNullException.ThrowIfNull(granularity);
        if (amount is < 0 or > MaxAmount)
        {
            throw new ArgumentOutOfRangeException(nameof(amount), amount, $"The amount of a rate limit must be between 0 and {MaxAmount}.");
        }

        if (multiples < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(multiples), multiples, "The multiple of a rate limit's period must be at least 1.");
        }

        if (granularity.Seconds * multiples > MaxPeriodSeconds)
        {
            throw new ArgumentOutOfRangeException(nameof(multiples), multiples, $"The period of a rate limit may span at most {MaxPeriodSeconds} seconds (100 years).");
        }

        Amount = amount;
        Granularity = granularity;
        Multiples = multiples;
    }

    /// <summary>How many units of cost the limit admits per period.</summary>
    public long Amount { get; }

    /// <summary>How many <see cref="Granularity"/> units one period spans.</summary>
    public int Multiples { get; }

    /// <summary>The unit of the period.</summary>
    public RateLimitGranularity Granularity { get; }

    /// <summary>The length of one period (the window length).</summary>
    public TimeSpan Period => TimeSpan.FromSeconds(Granularity.Seconds * Multiples);

    /// <summary>
    /// Parses exactly one limit, such as <c>10/minute</c>, <c>10 per minute</c> or <c>2 per 5 minutes</c>.
    /// </summary>
    /// <exception cref="FormatException">The text is not one valid limit; the message quotes it and says what is wrong.</exception>
    public static RateLimitItem Parse(string value)
    {
        var items = RateLimitParser.ParseMany(value);
        if (items.Count != 1)
        {
            throw new FormatException(RateLimitParser.Describe(value, $"it holds {items.Count} limits where one was expected; use ParseMany"));
        }

        return items[0];
    }

    /// <summary>
    /// Parses one or more limits separated by <c>;</c>, <c>,</c> or <c>|</c>, such as <c>1/second;100/hour</c>, in the order written.
    /// </summary>
    /// <exception cref="FormatException">The text is not a valid list of limits; the message quotes it and says what is wrong.</exception>
    public static IReadOnlyList<RateLimitItem> ParseMany(string value) => RateLimitParser.ParseMany(value);

    /// <summary>Parses one or more limits without throwing.</summary>
    /// <param name="value">The text to parse.</param>
    /// <param name="items">The limits, in the order written, when the text is valid.</param>
    /// <param name="error">What is wrong, quoting the text, when it is not.</param>
    public static bool TryParseMany(string? value, out IReadOnlyList<RateLimitItem> items, out string? error)
    {
        if (RateLimitParser.TryParseMany(value, out var parsed, out error))
        {
            items = parsed;
            return true;
        }

        items = [];
        return false;
    }

    /// <inheritdoc />
    public bool Equals(RateLimitItem? other) =>
        other is not null && Amount == other.Amount && Multiples == other.Multiples && ReferenceEquals(Granularity, other.Granularity);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as RateLimitItem);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Amount, Multiples, Granularity.Seconds);

    /// <summary>The display form, for example <c>10 per 1 minute</c>.</summary>
    public override string ToString() => $"{Amount} per {Multiples} {Granularity.Name}";
}
