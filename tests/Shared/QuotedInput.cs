using System.Globalization;
using System.Text;

namespace Orleans.RateLimit.Testing;

/// <summary>
/// How a rejected rate-limit string must appear in its error message, written out from the documented rule rather than
/// taken from the parser, so that tests check the parser's quoting instead of repeating it: in single quotes, the first
/// 100 characters only (with the length named when cut), control, surrogate, line/paragraph separator, zero-width space,
/// byte-order mark, quote and backslash characters as <c>\uXXXX</c>.
/// </summary>
internal static class QuotedInput
{
    public const int ShownCharacters = 100;

    public static string Of(string value)
    {
        var shown = Math.Min(value.Length, ShownCharacters);
        var builder = new StringBuilder("'");
        foreach (var c in value.AsSpan(0, shown))
        {
            var escaped = char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029' or '\'' or '\\'
                || System.Globalization.CharUnicodeInfo.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format;
            if (escaped)
            {
                builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
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

    /// <summary>A printable form of any text for assertion messages: every character outside printable ASCII escaped.</summary>
    public static string Printable(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c is >= ' ' and < '\u007F' and not '\\')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }
}
