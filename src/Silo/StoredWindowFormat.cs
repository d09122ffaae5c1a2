using System.Globalization;
using System.Text;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// The text of a window in its partition's hash: <c>{etag}|{start}:{count},{start}:{count}…</c>, every number decimal, the
/// starts in UTC ticks; e.g. <c>17|638400000000000000:3,638400006000000000:1</c>, or <c>18|</c> for a window without buckets.
/// </summary>
/// <remarks>
/// Text rather than a binary encoding: the write script prefixes the ETag it draws and reads the ETag back with one string
/// match, and an operator can read a window with <c>HGET</c>. Parsing is strict (no signs, spaces or empty numbers) because
/// anything else was not written by this format, and an unreadable window is skipped rather than half-read.
/// </remarks>
internal static class StoredWindowFormat
{
    private const char ETagSeparator = '|';
    private const char BucketSeparator = ',';
    private const char CountSeparator = ':';

    /// <summary>The buckets part of a window's text; the write script prefixes the ETag and <c>|</c>.</summary>
    public static string FormatBuckets(IReadOnlyList<WindowBucket> buckets, StringBuilder scratch)
    {
        scratch.Clear();
        for (var i = 0; i < buckets.Count; i++)
        {
            if (i > 0)
            {
                scratch.Append(BucketSeparator);
            }

            scratch.Append(buckets[i].StartTicks.ToString(CultureInfo.InvariantCulture))
                .Append(CountSeparator)
                .Append(buckets[i].Count.ToString(CultureInfo.InvariantCulture));
        }

        return scratch.ToString();
    }

    /// <summary>Reads a whole stored window; <see langword="false"/> when <paramref name="value"/> is not in this format.</summary>
    public static bool TryParse(string value, out long etag, out WindowBucket[] buckets)
    {
        etag = 0;
        buckets = [];
        var separator = value.IndexOf(ETagSeparator, StringComparison.Ordinal);
        return separator > 0
            && TryParseNumber(value.AsSpan(0, separator), out etag)
            && etag > 0
            && TryParseBuckets(value.AsSpan(separator + 1), out buckets);
    }

    /// <summary>Reads the buckets part of a stored window; <see langword="false"/> when it is not in this format.</summary>
    public static bool TryParseBuckets(ReadOnlySpan<char> text, out WindowBucket[] buckets)
    {
        buckets = [];
        if (text.IsEmpty)
        {
            return true;
        }

        var parsed = new WindowBucket[text.Count(BucketSeparator) + 1];
        var index = 0;
        foreach (var range in text.Split(BucketSeparator))
        {
            var bucket = text[range];
            var colon = bucket.IndexOf(CountSeparator);
            if (colon <= 0
                || !TryParseNumber(bucket[..colon], out var start)
                || start > DateTime.MaxValue.Ticks
                || !TryParseNumber(bucket[(colon + 1)..], out var count))
            {
                return false;
            }

            parsed[index++] = new WindowBucket(start, count);
        }

        buckets = parsed;
        return true;
    }

    private static bool TryParseNumber(ReadOnlySpan<char> text, out long number) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out number);
}
