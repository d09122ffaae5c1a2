using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>Writes the rate-limit header fields of a response from the request's current limits.</summary>
internal sealed class RateLimitHeaderWriter(IOptions<RateLimitOptions> options, TimeProvider time)
{
    private readonly RateLimitOptions _options = options.Value;

    public void Write(HttpResponse response, RateLimitRequestState state)
    {
        if (state.CurrentLimit is not { } current)
        {
            return;
        }

        var now = time.GetUtcNow();
        var headers = response.Headers;
        var fields = _options.HeaderFields;
        if ((fields & RateLimitHeaderFields.XRateLimit) != 0)
        {
            var names = _options.HeaderNames;
            headers[names.Limit] = current.Limit.Amount.ToString(CultureInfo.InvariantCulture);
            headers[names.Remaining] = current.Remaining.ToString(CultureInfo.InvariantCulture);
            headers[names.Reset] = ResetEpochSeconds(current.ResetAt).ToString(CultureInfo.InvariantCulture);
            WriteRetryAfter(headers, names.RetryAfter, current.ResetAt, now);
        }

        if ((fields & RateLimitHeaderFields.IetfDraft) != 0)
        {
            WriteIetfFields(headers, state.CurrentLimits.Count > 0 ? state.CurrentLimits : [current], now);
            if ((fields & RateLimitHeaderFields.XRateLimit) == 0 && response.StatusCode == StatusCodes.Status429TooManyRequests)
            {
                WriteRetryAfter(headers, HeaderNames.RetryAfter, current.ResetAt, now);
            }
        }
    }

    /// <summary>Flask-Limiter's <c>int(reset_time + 1)</c>: the epoch second after the reset.</summary>
    internal static long ResetEpochSeconds(DateTimeOffset resetAt) =>
        Math.Max(0, (resetAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerSecond) + 1;

    private void WriteRetryAfter(IHeaderDictionary headers, string name, DateTimeOffset resetAt, DateTimeOffset now)
    {
        // As the original, the retry time is the whole second after the reset, so a client never retries a moment early.
        var retryAt = DateTimeOffset.FromUnixTimeSeconds(ResetEpochSeconds(resetAt));

        // A later Retry-After already set by the endpoint wins (written in the configured form); one that is neither a date
        // nor seconds is replaced.
        var existing = headers[name];
        if (existing.Count == 1)
        {
            var value = existing[0];
            if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= int.MaxValue)
            {
                retryAt = Later(retryAt, now.AddSeconds(seconds));
            }
            else if (HeaderUtilities.TryParseDate(value, out var date))
            {
                retryAt = Later(retryAt, date);
            }
        }

        headers[name] = _options.RetryAfterFormat == RetryAfterFormat.HttpDate
            ? HeaderUtilities.FormatDate(retryAt)
            : DeltaSeconds(retryAt, now).ToString(CultureInfo.InvariantCulture);
    }

    private static void WriteIetfFields(IHeaderDictionary headers, IReadOnlyList<RequestLimit> limits, DateTimeOffset now)
    {
        var policy = new StringBuilder();
        var state = new StringBuilder();
        foreach (var limit in limits)
        {
            if (policy.Length > 0)
            {
                policy.Append(", ");
                state.Append(", ");
            }

            var name = PolicyName(limit);
            policy.Append(name).Append(";q=").Append(limit.Limit.Amount.ToString(CultureInfo.InvariantCulture))
                .Append(";w=").Append(((long)limit.Limit.Period.TotalSeconds).ToString(CultureInfo.InvariantCulture));
            state.Append(name).Append(";r=").Append(limit.Remaining.ToString(CultureInfo.InvariantCulture))
                .Append(";t=").Append(DeltaSeconds(limit.ResetAt, now).ToString(CultureInfo.InvariantCulture));
        }

        headers["RateLimit-Policy"] = policy.ToString();
        headers["RateLimit"] = state.ToString();
    }

    /// <summary>A structured-field string naming the limit: its scope and its text, printable ASCII only.</summary>
    private static string PolicyName(RequestLimit limit)
    {
        var text = $"{limit.Scope} {limit.Limit}";
        var name = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            if (c is '"' or '\\')
            {
                name.Append('\\').Append(c);
            }
            else
            {
                name.Append(c is >= ' ' and < '\u007F' ? c : '?');
            }
        }

        return name.Append('"').ToString();
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a >= b ? a : b;

    private static long DeltaSeconds(DateTimeOffset resetAt, DateTimeOffset now) =>
        Math.Max(0, (resetAt - now).Ticks / TimeSpan.TicksPerSecond);

}
