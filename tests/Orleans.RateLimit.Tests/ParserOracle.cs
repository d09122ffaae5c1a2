using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.Tests;

/// <summary>
/// What must hold for any input of the parser, whatever it is: <c>TryParseMany</c> never throws and agrees with
/// <c>ParseMany</c> and <c>Parse</c>; accepted input gives sane items whose display form parses back to them; rejected input
/// gives a <see cref="FormatException"/> whose message quotes the input and contains no raw control character.
/// </summary>
internal static class ParserOracle
{
    /// <summary>Checks <paramref name="text"/>; returns what is wrong, or <see langword="null"/> when all holds.</summary>
    /// <param name="text">The input.</param>
    /// <param name="expected">The items a valid input must parse to; <see langword="null"/> when unknown.</param>
    /// <param name="parsed">Whether the parser accepted the input.</param>
    public static string? Check(string text, IReadOnlyList<RateLimitItem>? expected, out bool parsed)
    {
        parsed = false;
        bool accepted;
        IReadOnlyList<RateLimitItem> items;
        string? error;
        try
        {
            accepted = RateLimitItem.TryParseMany(text, out items, out error);
        }
        catch (Exception e)
        {
            return $"TryParseMany threw {e.GetType().Name}: {e.Message}";
        }

        var many = Run(() => RateLimitItem.ParseMany(text));
        var single = Run(() => RateLimitItem.Parse(text));
        parsed = accepted;
        try
        {
            return accepted ? CheckAccepted(items, error, expected, many, single) : CheckRejected(text, items, error, expected, many, single);
        }
        catch (Exception e)
        {
            return $"checking the result threw {e.GetType().Name}: {e.Message}";
        }
    }

    private static string? CheckAccepted(
        IReadOnlyList<RateLimitItem> items,
        string? error,
        IReadOnlyList<RateLimitItem>? expected,
        (IReadOnlyList<RateLimitItem>? Value, Exception? Error) many,
        (RateLimitItem? Value, Exception? Error) single)
    {
        if (error is not null || items.Count == 0)
        {
            return $"TryParseMany returned true with {items.Count} items and error {error}";
        }

        if (many.Error is not null)
        {
            return $"TryParseMany accepted, but ParseMany threw {many.Error.GetType().Name}: {many.Error.Message}";
        }

        if (!items.SequenceEqual(many.Value!))
        {
            return $"TryParseMany gave [{string.Join("; ", items)}], ParseMany [{string.Join("; ", many.Value!)}]";
        }

        if (expected is not null && !items.SequenceEqual(expected))
        {
            return $"parsed to [{string.Join("; ", items)}], expected [{string.Join("; ", expected)}]";
        }

        foreach (var item in items)
        {
            if (Insane(item) is { } insane)
            {
                return insane;
            }
        }

        var displayed = string.Join(" ; ", items);
        if (!RateLimitItem.ParseMany(displayed).SequenceEqual(items))
        {
            return $"the display form '{displayed}' does not parse back to the same items";
        }

        if (items.Count == 1)
        {
            return items[0].Equals(single.Value) ? null : $"Parse gave {single.Value?.ToString() ?? single.Error?.GetType().Name}, ParseMany {items[0]}";
        }

        return single.Error is FormatException format && format.Message.EndsWith($": it holds {items.Count} limits where one was expected; use ParseMany.", StringComparison.Ordinal)
            ? null
            : $"Parse of {items.Count} limits did not throw the FormatException that says so: {single.Error?.GetType().Name} {single.Error?.Message}";
    }

    private static string? CheckRejected(
        string text,
        IReadOnlyList<RateLimitItem> items,
        string? error,
        IReadOnlyList<RateLimitItem>? expected,
        (IReadOnlyList<RateLimitItem>? Value, Exception? Error) many,
        (RateLimitItem? Value, Exception? Error) single)
    {
        if (expected is not null)
        {
            return $"a valid list of [{string.Join("; ", expected)}] was rejected: {error}";
        }

        if (items.Count != 0 || error is null)
        {
            return $"TryParseMany returned false with {items.Count} items and error {error ?? "(null)"}";
        }

        if (many.Error is not FormatException)
        {
            return many.Error is null
                ? $"TryParseMany rejected ({error}), ParseMany accepted"
                : $"ParseMany threw {many.Error.GetType().Name} instead of FormatException: {many.Error.Message}";
        }

        if (many.Error.Message != error)
        {
            return $"ParseMany said '{many.Error.Message}', TryParseMany '{error}'";
        }

        if (single.Error is not FormatException || single.Error.Message != error)
        {
            return $"Parse did not throw the same FormatException: {single.Error?.GetType().Name} {single.Error?.Message}";
        }

        var quoted = $"Couldn't parse rate limit string {QuotedInput.Of(text)}: ";
        if (!error.StartsWith(quoted, StringComparison.Ordinal) || !error.EndsWith('.'))
        {
            return $"the message does not start with {quoted} and end with '.': {error}";
        }

        return error.Any(c => char.IsControl(c) || char.IsSurrogate(c))
            ? $"the message carries a raw control or surrogate character: {QuotedInput.Printable(error)}"
            : null;
    }

    private static string? Insane(RateLimitItem item)
    {
        // An amount of 0 is valid, as in Flask-Limiter: every hit is then rejected.
        if (item.Amount is < 0 or > RateLimitItem.MaxAmount)
        {
            return $"amount {item.Amount} out of range in {item}";
        }

        if (item.Multiples < 1 || !RateLimitGranularity.All.Contains(item.Granularity))
        {
            return $"multiples {item.Multiples} or granularity {item.Granularity} invalid in {item}";
        }

        if (item.Period <= TimeSpan.Zero
            || item.Period != TimeSpan.FromSeconds(item.Granularity.Seconds * item.Multiples)
            || item.Period > TimeSpan.FromSeconds(RateLimitItem.MaxPeriodSeconds))
        {
            return $"period {item.Period} invalid for {item}";
        }

        var again = RateLimitItem.Parse(item.ToString());
        return again.Equals(item) && again.GetHashCode() == item.GetHashCode() ? null : $"'{item}' parses back to '{again}'";
    }

    private static (T? Value, Exception? Error) Run<T>(Func<T> parse)
        where T : class
    {
        try
        {
            return (parse(), null);
        }
        catch (Exception e)
        {
            return (null, e);
        }
    }
}
