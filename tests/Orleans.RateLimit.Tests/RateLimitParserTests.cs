namespace Orleans.RateLimit.Tests;

public sealed class RateLimitParserTests
{
    [Theory]
    [InlineData("10/minute", 10, 1, "minute")]
    [InlineData("10 per minute", 10, 1, "minute")]
    [InlineData("10 / minute", 10, 1, "minute")]
    [InlineData("10per minute", 10, 1, "minute")]
    [InlineData("10 perminute", 10, 1, "minute")]
    [InlineData("10 PER MINUTE", 10, 1, "minute")]
    [InlineData("2 per 5 minutes", 2, 5, "minute")]
    [InlineData("10/2 hours", 10, 2, "hour")]
    [InlineData("500/7days", 500, 7, "day")]
    [InlineData("1/Second", 1, 1, "second")]
    [InlineData("3/seconds", 3, 1, "second")]
    [InlineData("1/day", 1, 1, "day")]
    [InlineData("1 per month", 1, 1, "month")]
    [InlineData("1 per 2 years", 1, 2, "year")]
    [InlineData("  7 /  3   Hours  ", 7, 3, "hour")]
    [InlineData("0/second", 0, 1, "second")]
    [InlineData("1000000/day", 1_000_000, 1, "day")]
    public void Parses_a_single_limit(string text, long amount, int multiples, string granularity)
    {
        var item = RateLimitItem.Parse(text);

        Assert.Equal(amount, item.Amount);
        Assert.Equal(multiples, item.Multiples);
        Assert.Equal(granularity, item.Granularity.Name);
    }

    [Theory]
    [InlineData("second", 1)]
    [InlineData("minute", 60)]
    [InlineData("hour", 3_600)]
    [InlineData("day", 86_400)]
    [InlineData("month", 2_592_000)]
    [InlineData("year", 31_104_000)]
    public void Periods_are_the_originals(string granularity, long seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), RateLimitItem.Parse($"1/{granularity}").Period);
        Assert.Equal(TimeSpan.FromSeconds(seconds * 3), RateLimitItem.Parse($"1 per 3 {granularity}s").Period);
    }

    [Theory]
    [InlineData("1/second;100/hour")]
    [InlineData("1/second,100/hour")]
    [InlineData("1/second|100/hour")]
    [InlineData("1/second ; 100/hour")]
    [InlineData(" 1 per second |100 per hour ")]
    public void Parses_several_limits_in_order(string text)
    {
        var items = RateLimitItem.ParseMany(text);

        Assert.Equal(["1 per 1 second", "100 per 1 hour"], items.Select(i => i.ToString()));
    }

    [Fact]
    public void Parses_mixed_separators()
    {
        var items = RateLimitItem.ParseMany("1/second;2/minute,3/hour|4/day");

        Assert.Equal(["1 per 1 second", "2 per 1 minute", "3 per 1 hour", "4 per 1 day"], items.Select(i => i.ToString()));
    }

    [Theory]
    [InlineData("1/day", "1 per 1 day")]
    [InlineData("2/hours", "2 per 1 hour")]
    [InlineData("5 per 2 seconds", "5 per 2 second")]
    [InlineData("10 PER 5 MINUTES", "10 per 5 minute")]
    public void Display_form_is_singular_with_the_multiple(string text, string display)
    {
        Assert.Equal(display, RateLimitItem.Parse(text).ToString());
    }

    [Fact]
    public void Equality_compares_amount_multiples_and_granularity()
    {
        Assert.Equal(RateLimitItem.Parse("10/minute"), RateLimitItem.Parse("10 per 1 minutes"));
        Assert.Equal(RateLimitItem.Parse("10/minute").GetHashCode(), RateLimitItem.Parse("10 per 1 minutes").GetHashCode());
        Assert.NotEqual(RateLimitItem.Parse("10/minute"), RateLimitItem.Parse("10/2 minutes"));
        Assert.NotEqual(RateLimitItem.Parse("10/minute"), RateLimitItem.Parse("11/minute"));
        Assert.NotEqual(RateLimitItem.Parse("60/minute"), RateLimitItem.Parse("60/hour"));
    }

    [Theory]
    [InlineData("", "Couldn't parse rate limit string '': it is empty.")]
    [InlineData("   ", "Couldn't parse rate limit string '   ': it is empty.")]
    [InlineData("meow", "Couldn't parse rate limit string 'meow': expected an amount (a whole number) at position 1, found 'm'.")]
    [InlineData("2/sec", "Couldn't parse rate limit string '2/sec': unknown period 'sec' at position 3; use second, minute, hour, day, month or year (singular or plural).")]
    [InlineData("2/s", "Couldn't parse rate limit string '2/s': unknown period 's' at position 3; use second, minute, hour, day, month or year (singular or plural).")]
    [InlineData("1 per millenium", "Couldn't parse rate limit string '1 per millenium': unknown period 'millenium' at position 7; use second, minute, hour, day, month or year (singular or plural).")]
    [InlineData("1 per yearl; 2 per decade", "Couldn't parse rate limit string '1 per yearl; 2 per decade': unknown period 'yearl' at position 7; use second, minute, hour, day, month or year (singular or plural).")]
    [InlineData("1/second;", "Couldn't parse rate limit string '1/second;': the separator ';' at position 9 is not followed by a limit.")]
    [InlineData("1/second, ", "Couldn't parse rate limit string '1/second, ': the separator ',' at position 9 is not followed by a limit.")]
    [InlineData("10", "Couldn't parse rate limit string '10': expected '/' or 'per' after the amount at position 3, found the end.")]
    [InlineData("10 minute", "Couldn't parse rate limit string '10 minute': expected '/' or 'per' after the amount at position 4, found 'm'.")]
    [InlineData("10/", "Couldn't parse rate limit string '10/': expected a period (second, minute, hour, day, month or year (singular or plural)) at position 4, found the end.")]
    [InlineData("10/5", "Couldn't parse rate limit string '10/5': expected a period (second, minute, hour, day, month or year (singular or plural)) at position 5, found the end.")]
    [InlineData("-1/second", "Couldn't parse rate limit string '-1/second': expected an amount (a whole number) at position 1, found '-'.")]
    [InlineData("1.5/second", "Couldn't parse rate limit string '1.5/second': expected '/' or 'per' after the amount at position 2, found '.'.")]
    [InlineData("/second", "Couldn't parse rate limit string '/second': expected an amount (a whole number) at position 1, found '/'.")]
    [InlineData("1/0 second", "Couldn't parse rate limit string '1/0 second': the period multiple '0' at position 3 must be at least 1.")]
    [InlineData("1/second:;2/minute", "Couldn't parse rate limit string '1/second:;2/minute': unexpected ':' at position 9.")]
    [InlineData("1/second 2/minute", "Couldn't parse rate limit string '1/second 2/minute': unexpected '2' at position 10.")]
    [InlineData("1/second;;2/minute", "Couldn't parse rate limit string '1/second;;2/minute': expected an amount (a whole number) at position 10, found ';'.")]
    [InlineData("99999999999999999999/second", "Couldn't parse rate limit string '99999999999999999999/second': the amount '99999999999999999999' at position 1 is larger than 1000000000000000.")]
    [InlineData("1/101 years", "Couldn't parse rate limit string '1/101 years': the period '101 years' at position 3 is longer than the supported maximum of 100 years.")]
    [InlineData("1/99999999999999999999 seconds", "Couldn't parse rate limit string '1/99999999999999999999 seconds': the period '99999999999999999999 seconds' at position 3 is longer than the supported maximum of 100 years.")]
    [InlineData("1/second\u0000", "Couldn't parse rate limit string '1/second\\u0000': unexpected character U+0000 at position 9.")]
    [InlineData("1/2147483648 seconds", "Couldn't parse rate limit string '1/2147483648 seconds': the period multiple '2147483648' at position 3 is larger than 2147483647.")]
    [InlineData("1/min\u202Eute", "Couldn't parse rate limit string '1/min\\u202Eute': unknown period 'min' at position 3; use second, minute, hour, day, month or year (singular or plural).")]
    public void Rejects_malformed_text_with_a_message_naming_it(string text, string message)
    {
        var exception = Assert.Throws<FormatException>(() => RateLimitItem.ParseMany(text));
        Assert.Equal(message, exception.Message);

        Assert.False(RateLimitItem.TryParseMany(text, out var items, out var error));
        Assert.Empty(items);
        Assert.Equal(message, error);
    }

    [Fact]
    public void Rejects_null()
    {
        Assert.Throws<ArgumentNullException>(() => RateLimitItem.ParseMany(null!));
        Assert.False(RateLimitItem.TryParseMany(null, out _, out var error));
        Assert.Equal("A rate limit string is required, but none (null) was given.", error);
    }

    [Fact]
    public void Parse_expects_exactly_one_limit()
    {
        var exception = Assert.Throws<FormatException>(() => RateLimitItem.Parse("1/second;2/minute"));
        Assert.Equal("Couldn't parse rate limit string '1/second;2/minute': it holds 2 limits where one was expected; use ParseMany.", exception.Message);
    }

    [Fact]
    public void Long_hostile_input_is_quoted_shortened_and_escaped()
    {
        var text = "\u0001" + new string('x', 10_000);

        var exception = Assert.Throws<FormatException>(() => RateLimitItem.ParseMany(text));

        Assert.Equal(
            $"Couldn't parse rate limit string '\\u0001{new string('x', 99)}' (first 100 of 10001 characters): expected an amount (a whole number) at position 1, found character U+0001.",
            exception.Message);
    }

    [Fact]
    public void Constructor_rejects_out_of_range_values()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateLimitItem(-1, RateLimitGranularity.Second));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateLimitItem(1, RateLimitGranularity.Second, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateLimitItem(1, RateLimitGranularity.Year, 101));
        Assert.Equal("5 per 2 second", new RateLimitItem(5, RateLimitGranularity.Second, 2).ToString());
    }
}
