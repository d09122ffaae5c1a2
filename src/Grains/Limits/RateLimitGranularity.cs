namespace Orleans.RateLimit;

/// <summary>
/// A unit of time that a rate limit is expressed in: second, minute, hour, day, month (30 days) or year (360 days).
/// </summary>
/// <remarks>Month and year have the lengths Flask-Limiter and the <c>limits</c> library give them, so limits carry over unchanged.</remarks>
public sealed class RateLimitGranularity
{
    private RateLimitGranularity(string name, long seconds)
    {
        Name = name;
        Seconds = seconds;
    }

    /// <summary>One second.</summary>
    public static RateLimitGranularity Second { get; } = new("second", 1);

    /// <summary>60 seconds.</summary>
    public static RateLimitGranularity Minute { get; } = new("minute", 60);

    /// <summary>3,600 seconds.</summary>
    public static RateLimitGranularity Hour { get; } = new("hour", 3_600);

    /// <summary>86,400 seconds.</summary>
    public static RateLimitGranularity Day { get; } = new("day", 86_400);

    /// <summary>30 days (2,592,000 seconds).</summary>
    public static RateLimitGranularity Month { get; } = new("month", 2_592_000);

    /// <summary>360 days (31,104,000 seconds).</summary>
    public static RateLimitGranularity Year { get; } = new("year", 31_104_000);

    /// <summary>Every granularity, shortest first.</summary>
    public static IReadOnlyList<RateLimitGranularity> All { get; } = [Second, Minute, Hour, Day, Month, Year];

    /// <summary>The singular name, as used in the display form of a limit (<c>1 per 1 minute</c>).</summary>
    public string Name { get; }

    /// <summary>The length of one unit in seconds.</summary>
    public long Seconds { get; }

    /// <summary>
    /// Finds the granularity named by <paramref name="word"/>: its singular or plural name, in any case.
    /// </summary>
    /// <returns>The granularity, or <see langword="null"/> when the word names none (abbreviations such as <c>sec</c> name none).</returns>
    public static RateLimitGranularity? Find(ReadOnlySpan<char> word)
    {
        foreach (var granularity in All)
        {
            var name = granularity.Name.AsSpan();
            if (word.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return granularity;
            }

            if (word.Length == name.Length + 1
                && word.StartsWith(name, StringComparison.OrdinalIgnoreCase)
                && (word[^1] is 's' or 'S'))
            {
                return granularity;
            }
        }

        return null;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
