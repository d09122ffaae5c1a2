using System.Globalization;
using System.Text;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>Figures of a set of request outcomes: answers by status, decision latency percentiles, admissions per key.</summary>
internal sealed class LoadReport(IReadOnlyList<RequestOutcome> outcomes)
{
    private readonly TimeSpan[] _latencies = [.. outcomes.Select(o => o.Latency).Order()];

    public IReadOnlyList<RequestOutcome> Outcomes => outcomes;

    public int Count => outcomes.Count;

    public int Admitted => outcomes.Count(o => o.Admitted);

    public int Rejected => outcomes.Count(o => o.Rejected);

    public int ServerErrors => outcomes.Count(o => o.ServerError);

    public int Unanswered => outcomes.Count(o => o.Unanswered);

    public TimeSpan P50 => Percentile(0.50);

    public TimeSpan P99 => Percentile(0.99);

    public TimeSpan Max => _latencies.Length == 0 ? TimeSpan.Zero : _latencies[^1];

    /// <summary>The requests sent in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public LoadReport Between(TimeSpan from, TimeSpan to) => new([.. outcomes.Where(o => o.SentAt >= from && o.SentAt < to)]);

    /// <summary>Nearest-rank percentile of the decision latencies.</summary>
    public TimeSpan Percentile(double fraction) =>
        _latencies.Length == 0 ? TimeSpan.Zero : _latencies[Math.Clamp((int)Math.Ceiling(fraction * _latencies.Length) - 1, 0, _latencies.Length - 1)];

    /// <summary>Admitted requests per key beyond <paramref name="limit"/>, summed over keys.</summary>
    public int OverLimitAdmissions(long limit) =>
        outcomes.GroupBy(o => o.Key).Sum(key => (int)Math.Max(0, key.Count(o => o.Admitted) - limit));

    public IReadOnlyDictionary<string, int> AdmittedPerKey() =>
        outcomes.GroupBy(o => o.Key).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(o => o.Admitted));

    /// <summary>The requests that were not answered in time, or were answered with a server error, for a failure message.</summary>
    public string Failures(TimeSpan within, int max = 20) =>
        string.Join(Environment.NewLine, outcomes.Where(o => o.Unanswered || o.ServerError || o.Latency >= within).Take(max));

    /// <summary>The <paramref name="count"/> slowest requests, slowest first.</summary>
    public string Slowest(int count) =>
        string.Join(Environment.NewLine, outcomes.OrderByDescending(o => o.Latency).Take(count).Select(o => "  " + o));

    public string Describe(string title)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{title}: {Count} requests, {Admitted} x 200, {Rejected} x 429, {ServerErrors} x 5xx, {Unanswered} unanswered; ");
        text.Append(CultureInfo.InvariantCulture, $"decision latency p50 {Ms(P50)}, p99 {Ms(P99)}, max {Ms(Max)}");
        return text.ToString();
    }

    public static string Ms(TimeSpan value) => value.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms";
}
