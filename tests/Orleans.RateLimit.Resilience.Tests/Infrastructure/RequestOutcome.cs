namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>One request of a load run: whose it was, when it was sent (test clock), how long its answer took, and what it was.</summary>
/// <param name="Status">The HTTP status code; 0 when no answer came (connection failure, client timeout).</param>
/// <param name="Remaining">The <c>X-RateLimit-Remaining</c> header, when the node writes headers.</param>
/// <param name="NodeTime">How long the node took until its response started, from its <c>Server-Timing</c> header.</param>
internal sealed record RequestOutcome(string Key, TimeSpan SentAt, TimeSpan Latency, int Status, long? Remaining, TimeSpan? NodeTime, string? Error)
{
    public bool Admitted => Status == 200;

    public bool Rejected => Status == 429;

    public bool ServerError => Status >= 500;

    public bool Unanswered => Status == 0;

    public override string ToString() =>
        $"{SentAt.TotalSeconds,7:0.000}s {Key} -> {(Unanswered ? "no answer: " + Error : Status.ToString(System.Globalization.CultureInfo.InvariantCulture))} in {Latency.TotalMilliseconds:0.0} ms" +
        (NodeTime is { } node ? $" (node {node.TotalMilliseconds:0.0} ms)" : "") +
        (Remaining is { } remaining ? $" (remaining {remaining})" : "");
}
