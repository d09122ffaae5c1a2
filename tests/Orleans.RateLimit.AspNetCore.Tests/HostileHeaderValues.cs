using System.Text;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// Header values a hostile client might send as its key or as a dynamic limit, from one seeded <see cref="Random"/>:
/// missing, empty and whitespace-only values, 8 KB values, path and escape look-alikes, grain-key look-alikes, emoji,
/// bidirectional marks, control characters HTTP allows, random text, and a few ordinary keys so that counting happens.
/// </summary>
internal sealed class HostileHeaderValues(Random random)
{
    public const int LongValueLength = 8 * 1024;

    /// <summary>Keys that come back often, so that their windows fill and 429s happen.</summary>
    public static readonly string[] OrdinaryKeys = ["alice", "bob", "Bob", "127.0.0.1", "::1", "k%2F1", "k/1"];

    private static readonly string[] Tricky =
    [
        "/", "//", "%", "%%", "%2F", "%25", "%u002F", "%00", "\\", "\\\\", "\\u0000", "\\x00", "a/b", "a%2Fb", "../../etc/passwd",
        "#", "#frag", "?q=1", "&", "=", "\"", "'", ",", ";", "|", "a,b", "a;b", "*", "{0}", "${jndi:ldap://x/a}", "<script>",
        "fixed-window/10/1/minute//%2Fh/alice", "fixed-window/1/1/second/", "meta", "global", "/h", "/h:GET", "%u00E9",
        "\U0001F600", "\U0001F600\U0001F600\u200D\U0001F466", "\u202Eevil", "\u200F\u05D0\u200E", "\u200B", "\uFEFFbom", "\u2066x\u2069",
        "e\u0301", "\u00E9", "\uFF21", "\u0130", "\u00DF", "\uFFFD", "\uD800", "\uDC00", "\u0085", "\u2028", "\u00A0",
        "\u0001", "\u001B[31mred", "\u007F", "tab\tinside", "\u000B\u000C", "a\u0000b", "a\r\nX-Client: forged", "a\nb",
        "1/minute", "0/second", "1 per 1 minute", "2/minute;1/second", "3/minute", "99999999999999999999/second", "1/0 second",
        "1/second;", ";1/second", "1/sec", "1/101 years", "-1/second", "\u0661/minute", "1/minute\u0000", "1\u00A0/\u00A0minute",
    ];

    private static readonly string[] Blank = ["", " ", "\t", "  \t  "];

    private static readonly string[] Periods = ["second", "minute", "hour", "day", "2 minutes", "month", "year"];

    /// <summary>A value for the key header; <see langword="null"/> leaves the header out.</summary>
    public string? NextKey() => random.Next(100) switch
    {
        < 35 => OrdinaryKeys[random.Next(OrdinaryKeys.Length)],
        < 45 => random.Next(4) == 0 ? null : Blank[random.Next(Blank.Length)],
        < 65 => Tricky[random.Next(Tricky.Length)],
        < 75 => Long(),
        _ => RandomText(random.Next(1, 65)),
    };

    /// <summary>A value for the dynamic-limit header; <see langword="null"/> leaves the header out.</summary>
    public string? NextLimit() => random.Next(100) switch
    {
        < 20 => null,
        < 25 => Blank[random.Next(Blank.Length)],
        < 55 => ValidLimit(),
        < 80 => Tricky[random.Next(Tricky.Length)],
        < 85 => Long(),
        _ => RandomText(random.Next(1, 33)),
    };

    /// <summary>Small limits over a few periods, so that windows fill; occasionally several at once or the default's twin.</summary>
    private string ValidLimit()
    {
        var one = $"{random.Next(0, 6)}/{Periods[random.Next(Periods.Length)]}";
        return random.Next(5) switch
        {
            0 => $"{one};{random.Next(1, 4)} per {Periods[random.Next(Periods.Length)]}",
            1 => "3/minute",
            _ => one,
        };
    }

    private string Long() => random.Next(4) switch
    {
        0 => new string('a', LongValueLength),
        1 => string.Concat(Enumerable.Repeat("\U0001F600", LongValueLength / 4)),
        2 => string.Concat(Enumerable.Repeat("1/second;", LongValueLength / 9)).TrimEnd(';'),
        _ => RandomText(LongValueLength / 2),
    };

    /// <summary>
    /// Random UTF-16 code units, control characters and lone surrogates included, but no NUL, CR or LF: HTTP forbids those in
    /// a field, and Kestrel answers 400 before any middleware runs (a few fixed values carry them, to show they are skipped).
    /// </summary>
    private string RandomText(int length)
    {
        var builder = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            builder.Append(random.Next(4) switch
            {
                0 => (char)random.Next(0x20, 0x7F),
                1 => ControlCharacter(),
                2 => (char)random.Next(0x80, 0x800),
                _ => (char)random.Next(0x800, 0x10000),
            });
        }

        return builder.ToString();
    }

    private char ControlCharacter()
    {
        var c = (char)random.Next(0x01, 0x20);
        return c is '\r' or '\n' ? '\u001F' : c;
    }
}
