using System.Globalization;
using Orleans.RateLimit.Testing;
using Xunit.Abstractions;

namespace Orleans.RateLimit.Tests;

/// <summary>
/// Feeds the parser generated input: every string either parses to sane items that survive a round trip through their
/// display form, or is rejected with a <see cref="FormatException"/> that quotes it. Nothing else may escape.
/// </summary>
public sealed class RateLimitParserFuzzTests(ITestOutputHelper output)
{
    /// <summary>Set to replay another seed; the seed of every run is written to the test output.</summary>
    public const string SeedVariable = "RATELIMIT_FUZZ_SEED";

    private const int Cases = 10_000;
    private const int DefaultSeed = 20_261_123;
    private const int FailuresShown = 10;

    [Fact]
    public void Generated_strings_parse_to_sane_items_or_are_rejected_with_a_format_exception_quoting_them()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), CultureInfo.InvariantCulture, out var chosen) ? chosen : DefaultSeed;
        output.WriteLine($"seed {seed} (set {SeedVariable} to run another)");
        var generator = new RateLimitStringGenerator(new Random(seed));
        var counts = new SortedDictionary<string, int[]>(StringComparer.Ordinal);
        var failures = new List<string>();
        for (var i = 0; i < Cases; i++)
        {
            var (kind, text, expected) = generator.Next();
            var problem = ParserOracle.Check(text, expected, out var parsed);
            if (problem is not null && failures.Count < FailuresShown)
            {
                failures.Add($"case {i} ({kind}) {QuotedInput.Printable(text.Length > 300 ? text[..300] + "…" : text)} [{text.Length} chars]: {problem}");
            }

            var row = counts.TryGetValue(kind, out var existing) ? existing : counts[kind] = new int[2];
            row[parsed ? 0 : 1]++;
        }

        var totalParsed = counts.Values.Sum(c => c[0]);
        var totalRejected = counts.Values.Sum(c => c[1]);
        foreach (var (kind, row) in counts)
        {
            output.WriteLine($"{kind,-12} parsed {row[0],5}  rejected {row[1],5}");
        }

        output.WriteLine($"{"total",-12} parsed {totalParsed,5}  rejected {totalRejected,5}");
        Assert.True(failures.Count == 0, $"seed {seed}: {failures.Count}+ inputs misbehaved:\n" + string.Join('\n', failures));

        // A generator that drifted into only one outcome would prove nothing about the other.
        Assert.InRange(totalParsed, Cases / 10, Cases);
        Assert.InRange(totalRejected, Cases / 10, Cases);
    }

    [Theory]
    [InlineData("1/2147483647 seconds", 2_147_483_647, "second")]
    [InlineData("1/51840000 minutes", 51_840_000, "minute")]
    [InlineData("1/100 years", 100, "year")]
    public void The_largest_multiples_parse(string text, int multiples, string granularity)
    {
        var item = RateLimitItem.Parse(text);

        Assert.Equal(multiples, item.Multiples);
        Assert.Equal(granularity, item.Granularity.Name);
        Assert.Equal(item, RateLimitItem.Parse(item.ToString()));
    }

    [Theory]
    [InlineData("1/2147483648 seconds")]
    [InlineData("1/3110400000 seconds")]
    [InlineData("5 per 3000000000 second; 1/minute")]
    public void A_seconds_multiple_beyond_the_int_range_is_rejected_as_malformed(string text)
    {
        var exception = Assert.Throws<FormatException>(() => RateLimitItem.ParseMany(text));

        Assert.StartsWith($"Couldn't parse rate limit string '{text}': the period multiple '", exception.Message, StringComparison.Ordinal);
        Assert.EndsWith("is larger than 2147483647.", exception.Message, StringComparison.Ordinal);
        Assert.False(RateLimitItem.TryParseMany(text, out _, out var error));
        Assert.Equal(exception.Message, error);
    }
}
