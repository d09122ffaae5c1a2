using System.Globalization;
using System.Text;

namespace Orleans.RateLimit.Tests;

/// <summary>
/// Makes rate-limit strings for fuzzing the parser from one seeded <see cref="Random"/>, so that a failure replays from its seed:
/// valid lists (with the items they must parse to), mutations of valid lists, numbers at and past every bound, abused
/// separators, 10,000-character strings and plain garbage.
/// </summary>
internal sealed class RateLimitStringGenerator(Random random)
{
    public const int LongLength = 10_000;

    private static readonly string[] Whitespace = ["", "", "", " ", "  ", "\t", "\u00A0", "\u2003", "\u3000", "\n"];

    private static readonly char[] Separators = [';', ',', '|'];

    /// <summary>Characters and pairs that a parser might mistake, choke on, or print unescaped.</summary>
    private static readonly string[] HostileTokens =
    [
        "0", "1", "9", "/", "per", "PER", ";", ",", "|", ":", ".", "-", "+", "e", "s", "second", "minutes", "'", "\\", "\"", "%", "#", "{0}",
        " ", "\t", "\r", "\n", "\v", "\f", "\u0085", "\u00A0", "\u1680", "\u2003", "\u2028", "\u2029", "\u3000",
        "\0", "\u0001", "\u001B", "\u007F", "\u009B",
        "\u200B", "\u200D", "\uFEFF", "\u200E", "\u200F", "\u202E", "\u2066",
        "\u0661", "\u06F5", "\u0967", "\uFF15", "\u00B2", "\u00BD", "\U0001D7D7",
        "\u0430", "\u017F", "\u212A", "\u0131", "\u0130", "\uFF53",
        "\U0001F600", "\uD800", "\uDC00", "\uFFFD", "\uFFFF",
    ];

    private static readonly string[] EdgeNumbers =
    [
        "0", "00", "000001", "-1", "+1", "-0", "1e3", "1.5", "1,000", "1_000", "0x10", "1 000",
        "99999999999999999999",
        RateLimitItem.MaxAmount.ToString(CultureInfo.InvariantCulture),
        (RateLimitItem.MaxAmount + 1).ToString(CultureInfo.InvariantCulture),
        int.MaxValue.ToString(CultureInfo.InvariantCulture),
        "2147483648",
        "4294967296",
        RateLimitItem.MaxPeriodSeconds.ToString(CultureInfo.InvariantCulture),
        (RateLimitItem.MaxPeriodSeconds + 1).ToString(CultureInfo.InvariantCulture),
        long.MaxValue.ToString(CultureInfo.InvariantCulture),
        "9223372036854775808",
        ulong.MaxValue.ToString(CultureInfo.InvariantCulture),
        "\u0661", "\u0663\u0660", "\uFF15", "\U0001D7D7", "\u00B2",
    ];

    /// <summary>The next input: what kind it is, its text, and for valid lists the items it must parse to.</summary>
    public (string Kind, string Text, IReadOnlyList<RateLimitItem>? Expected) Next()
    {
        var roll = random.Next(100);
        if (roll < 20)
        {
            var (text, items) = ValidList();
            return ("valid", text, items);
        }

        return roll switch
        {
            < 60 => ("mutated", Mutate(ValidList().Text), null),
            < 75 => ("edge number", EdgeNumberLimit(), null),
            < 85 => ("separators", SeparatorAbuse(), null),
            < 90 => ("10k long", Long(), null),
            _ => ("garbage", Garbage(random.Next(0, 60)), null),
        };
    }

    private (string Text, List<RateLimitItem> Items) ValidList()
    {
        var count = random.Next(1, 5);
        var text = new StringBuilder();
        var items = new List<RateLimitItem>(count);
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                text.Append(Ws()).Append(Separators[random.Next(Separators.Length)]).Append(Ws());
            }

            var (limit, item) = ValidLimit();
            text.Append(limit);
            items.Add(item);
        }

        return (text.ToString(), items);
    }

    private (string Text, RateLimitItem Item) ValidLimit()
    {
        var granularity = RateLimitGranularity.All[random.Next(RateLimitGranularity.All.Count)];
        var amount = random.Next(4) switch
        {
            0 => random.Next(0, 11),
            1 => random.Next(0, 1_000_001),
            2 => random.NextInt64(0, RateLimitItem.MaxAmount + 1),
            _ => RateLimitItem.MaxAmount,
        };

        // Multiples a period can hold: at most 100 years, and at most what the item's int can hold.
        var maxMultiples = (int)Math.Min(int.MaxValue, RateLimitItem.MaxPeriodSeconds / granularity.Seconds);
        var multiples = random.Next(4) switch
        {
            0 => 1,
            1 => random.Next(1, Math.Min(60, maxMultiples) + 1),
            2 => random.Next(1, maxMultiples) + 1,
            _ => maxMultiples,
        };

        var text = new StringBuilder();
        text.Append(Ws()).Append(LeadingZeros()).Append(amount.ToString(CultureInfo.InvariantCulture)).Append(Ws());
        text.Append(random.Next(2) == 0 ? "/" : RandomCase("per")).Append(Ws());
        if (multiples != 1 || random.Next(2) == 0)
        {
            text.Append(LeadingZeros()).Append(multiples.ToString(CultureInfo.InvariantCulture)).Append(Ws());
        }

        text.Append(RandomCase(random.Next(2) == 0 ? granularity.Name : granularity.Name + "s")).Append(Ws());
        return (text.ToString(), new RateLimitItem(amount, granularity, multiples));
    }

    private string Mutate(string text)
    {
        var builder = new StringBuilder(text);
        var edits = random.Next(1, 6);
        for (var i = 0; i < edits; i++)
        {
            var at = random.Next(builder.Length + 1);
            switch (random.Next(5))
            {
                case 0:
                    builder.Insert(at, Hostile());
                    break;
                case 1 when at < builder.Length:
                    builder.Remove(at, 1);
                    break;
                case 2 when at < builder.Length:
                    builder.Remove(at, 1).Insert(at, Hostile());
                    break;
                case 3 when at < builder.Length:
                    var length = random.Next(1, builder.Length - at + 1);
                    builder.Insert(at, builder.ToString(at, length));
                    break;
                default:
                    builder.Insert(at, EdgeNumbers[random.Next(EdgeNumbers.Length)]);
                    break;
            }
        }

        return builder.ToString();
    }

    private string EdgeNumberLimit()
    {
        var granularity = RateLimitGranularity.All[random.Next(RateLimitGranularity.All.Count)].Name + (random.Next(2) == 0 ? "" : "s");
        return random.Next(3) switch
        {
            0 => $"{Number()}/{granularity}",
            1 => $"1/{Number()} {granularity}",
            _ => $"{Number()} per {Number()} {granularity}",
        };
    }

    private string Number() =>
        random.Next(3) == 0
            ? string.Concat(Enumerable.Range(0, random.Next(1, 31)).Select(_ => (char)('0' + random.Next(10))))
            : EdgeNumbers[random.Next(EdgeNumbers.Length)];

    private string SeparatorAbuse()
    {
        var builder = new StringBuilder();
        if (random.Next(3) == 0)
        {
            builder.Append(SeparatorRun());
        }

        var count = random.Next(0, 4);
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                builder.Append(SeparatorRun());
            }

            builder.Append(ValidLimit().Text);
        }

        if (count == 0 || random.Next(3) == 0)
        {
            builder.Append(SeparatorRun());
        }

        return builder.ToString();
    }

    private string SeparatorRun() =>
        string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => Ws() + Separators[random.Next(Separators.Length)]));

    private string Long()
    {
        switch (random.Next(8))
        {
            case 0:
                var list = string.Concat(Enumerable.Repeat("1/second;", LongLength / 9));
                return list[..^1];
            case 1:
                return new string('9', LongLength) + "/second";
            case 2:
                return "1/" + new string('9', LongLength) + " seconds";
            case 3:
                return new string(' ', LongLength);
            case 4:
                return ValidLimit().Text + new string(' ', LongLength);
            case 5:
                return "1 per " + string.Concat(Enumerable.Repeat("second", LongLength / 6));
            case 6:
                return new string(Separators[random.Next(Separators.Length)], LongLength);
            default:
                var garbage = new StringBuilder();
                while (garbage.Length < LongLength)
                {
                    garbage.Append(Hostile());
                }

                return garbage.ToString();
        }
    }

    private string Garbage(int tokens) => string.Concat(Enumerable.Range(0, tokens).Select(_ => Hostile()));

    private string Hostile() => HostileTokens[random.Next(HostileTokens.Length)];

    private string Ws() => Whitespace[random.Next(Whitespace.Length)];

    private string LeadingZeros() => random.Next(8) == 0 ? new string('0', random.Next(1, 4)) : "";

    private string RandomCase(string word) =>
        string.Create(word.Length, (word, random), static (span, state) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = state.random.Next(2) == 0 ? char.ToUpperInvariant(state.word[i]) : state.word[i];
            }
        });
}
