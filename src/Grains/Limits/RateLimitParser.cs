using System.Globalization;

namespace Orleans.RateLimit;

/// <summary>
/// Reads the rate-limit notation of Flask-Limiter and the <c>limits</c> library by hand rather than by regular expression,
/// so that every rejection can say where the text goes wrong.
/// </summary>
/// <remarks>
/// Grammar (case-insensitive, whitespace allowed between all parts):
/// <c>limit := amount ('/' | 'per') [multiples] granularity</c>, <c>list := limit ((';' | ',' | '|') limit)*</c>.
/// Two deliberate departures from the original, both of which the original accepts silently:
/// a multiple of <c>0</c> is rejected (the original reads <c>1/0 second</c> as <c>1/1 second</c>), and a stray <c>:</c>
/// before a separator is rejected (the original's regular expression tolerates <c>1/second:;2/minute</c> by accident).
/// </remarks>
internal static class RateLimitParser
{
    private const string GranularityNames = "second, minute, hour, day, month or year (singular or plural)";
    private const int QuotedInputLimit = 100;

    public static IReadOnlyList<RateLimitItem> ParseMany(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!TryParseMany(value, out var items, out var error))
        {
            throw new FormatException(error);
        }

        return items;
    }

    public static bool TryParseMany(string? value, out List<RateLimitItem> items, out string? error)
    {
        items = [];
        if (value is null)
        {
            error = "A rate limit string is required, but none (null) was given.";
            return false;
        }

        var reader = new Reader(value);
        reader.SkipWhitespace();
        if (reader.AtEnd)
        {
            error = Describe(value, "it is empty");
            return false;
        }

        while (true)
        {
            if (!TryParseSingle(ref reader, out var item, out var reason))
            {
                error = Describe(value, reason);
                return false;
            }

            items.Add(item);
            if (reader.AtEnd)
            {
                error = null;
                return true;
            }

            var separator = reader.Current;
            if (separator is not (';' or ',' or '|'))
            {
                error = Describe(value, $"unexpected {DescribeChar(separator)} at position {reader.Position}");
                return false;
            }

            var separatorPosition = reader.Position;
            reader.Advance();
            reader.SkipWhitespace();
            if (reader.AtEnd)
            {
                error = Describe(value, $"the separator '{separator}' at position {separatorPosition} is not followed by a limit");
                return false;
            }
        }
    }

    /// <summary>The message of a rejection: the input, quoted and made safe to print, and what is wrong with it.</summary>
    public static string Describe(string value, string reason) =>
        $"Couldn't parse rate limit string {Quote(value)}: {reason}.";

    /// <summary>
    /// Quotes user input for an error message: control and invisible characters escaped, long input shortened with its length shown.
    /// </summary>
    public static string Quote(string value)
    {
        var builder = new System.Text.StringBuilder(Math.Min(value.Length, QuotedInputLimit) + 16);
        builder.Append('\'');
        var shown = Math.Min(value.Length, QuotedInputLimit);
        for (var i = 0; i < shown; i++)
        {
            var c = value[i];
            if (IsInvisibleOrReordering(c) || c is '\'' or '\\')
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        builder.Append('\'');
        if (value.Length > shown)
        {
            builder.Append(CultureInfo.InvariantCulture, $" (first {shown} of {value.Length} characters)");
        }

        return builder.ToString();
    }

    private static bool TryParseSingle(ref Reader reader, out RateLimitItem item, out string reason)
    {
        item = null!;
        reader.SkipWhitespace();
        var amountStart = reader.Position;
        var amountDigits = reader.ReadDigits();
        if (amountDigits.IsEmpty)
        {
            reason = $"expected an amount (a whole number) at position {amountStart}, found {reader.DescribeCurrent()}";
            return false;
        }

        if (!long.TryParse(amountDigits, NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount > RateLimitItem.MaxAmount)
        {
            reason = $"the amount '{Shorten(amountDigits)}' at position {amountStart} is larger than {RateLimitItem.MaxAmount}";
            return false;
        }

        reader.SkipWhitespace();
        var separatorPosition = reader.Position;
        if (!reader.TryConsume("/") && !reader.TryConsumeIgnoreCase("per"))
        {
            reason = $"expected '/' or 'per' after the amount at position {separatorPosition}, found {reader.DescribeCurrent()}";
            return false;
        }

        reader.SkipWhitespace();
        var multiples = 1L;
        var multiplesStart = reader.Position;
        var multiplesDigits = reader.ReadDigits();
        if (!multiplesDigits.IsEmpty)
        {
            if (!long.TryParse(multiplesDigits, NumberStyles.None, CultureInfo.InvariantCulture, out multiples))
            {
                multiples = long.MaxValue;
            }

            if (multiples == 0)
            {
                reason = $"the period multiple '{Shorten(multiplesDigits)}' at position {multiplesStart} must be at least 1";
                return false;
            }

            reader.SkipWhitespace();
        }

        var wordStart = reader.Position;
        var word = reader.ReadLetters();
        if (word.IsEmpty)
        {
            reason = $"expected a period ({GranularityNames}) at position {wordStart}, found {reader.DescribeCurrent()}";
            return false;
        }

        var granularity = RateLimitGranularity.Find(word);
        if (granularity is null)
        {
            reason = $"unknown period '{Shorten(word)}' at position {wordStart}; use {GranularityNames}";
            return false;
        }

        if (multiples > RateLimitItem.MaxPeriodSeconds / granularity.Seconds)
        {
            reason = $"the period '{Shorten(multiplesDigits)} {Shorten(word)}' at position {multiplesStart} is longer than the supported maximum of 100 years";
            return false;
        }

        if (multiples > int.MaxValue)
        {
            reason = $"the period multiple '{Shorten(multiplesDigits)}' at position {multiplesStart} is larger than {int.MaxValue}";
            return false;
        }

        reader.SkipWhitespace();
        item = new RateLimitItem(amount, granularity, (int)multiples);
        reason = string.Empty;
        return true;
    }

    private static string Shorten(ReadOnlySpan<char> text) =>
        text.Length <= 24 ? text.ToString() : string.Concat(text[..24], "…");

    /// <summary>Characters shown escaped: a logged input must read as it is, not reordered (U+202E) or hidden (U+200B).</summary>
    private static bool IsInvisibleOrReordering(char c) =>
        char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029'
        || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format;

    private static string DescribeChar(char c) =>
        IsInvisibleOrReordering(c) || char.IsWhiteSpace(c)
            ? string.Create(CultureInfo.InvariantCulture, $"character U+{(int)c:X4}")
            : $"'{c}'";

    /// <summary>A cursor over the input; positions it reports are 1-based, as a person counts.</summary>
    private ref struct Reader(string text)
    {
        private readonly string _text = text;
        private int _index;

        public readonly bool AtEnd => _index >= _text.Length;

        public readonly char Current => _text[_index];

        public readonly int Position => _index + 1;

        public void Advance() => _index++;

        public void SkipWhitespace()
        {
            while (_index < _text.Length && char.IsWhiteSpace(_text[_index]))
            {
                _index++;
            }
        }

        public ReadOnlySpan<char> ReadDigits()
        {
            var start = _index;
            while (_index < _text.Length && char.IsAsciiDigit(_text[_index]))
            {
                _index++;
            }

            return _text.AsSpan(start, _index - start);
        }

        public ReadOnlySpan<char> ReadLetters()
        {
            var start = _index;
            while (_index < _text.Length && char.IsAsciiLetter(_text[_index]))
            {
                _index++;
            }

            return _text.AsSpan(start, _index - start);
        }

        public bool TryConsume(string token)
        {
            if (_text.AsSpan(_index).StartsWith(token, StringComparison.Ordinal))
            {
                _index += token.Length;
                return true;
            }

            return false;
        }

        public bool TryConsumeIgnoreCase(string token)
        {
            if (_text.AsSpan(_index).StartsWith(token, StringComparison.OrdinalIgnoreCase))
            {
                _index += token.Length;
                return true;
            }

            return false;
        }

        public readonly string DescribeCurrent() => AtEnd ? "the end" : DescribeChar(Current);
    }
}
