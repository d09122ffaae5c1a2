namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Window keys for tests: unique clients, and clients whose windows share one partition.</summary>
public static class TestWindows
{
    /// <summary>A window of a client nobody else counts.</summary>
    public static RateLimitWindowKey Unique(RateLimitStrategy strategy, string limit, string scope = "endpoint") =>
        new(strategy, RateLimitItem.Parse(limit), scope, Guid.NewGuid().ToString("N"));

    /// <summary><paramref name="count"/> new client keys whose windows are all owned by one partition.</summary>
    public static string[] ClientsOfOnePartition(int count, int partitions = WindowPartition.DefaultCount)
    {
        var prefix = Guid.NewGuid().ToString("N");
        var partition = WindowPartition.IndexOf(prefix, partitions);
        var clients = new List<string> { prefix };
        for (var i = 0; clients.Count < count; i++)
        {
            var candidate = prefix + "-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (WindowPartition.IndexOf(candidate, partitions) == partition)
            {
                clients.Add(candidate);
            }
        }

        return [.. clients];
    }

    /// <summary>The partition that owns <paramref name="window"/> among the default number of partitions.</summary>
    public static WindowPartition PartitionOf(RateLimitWindowKey window) =>
        new(WindowPartition.IndexOf(window.Key, WindowPartition.DefaultCount), WindowPartition.DefaultCount);

    /// <summary>The window of <paramref name="client"/> under <paramref name="limit"/>.</summary>
    public static RateLimitWindowKey Of(string client, string limit, RateLimitStrategy strategy = RateLimitStrategy.FixedWindow, string scope = "endpoint") =>
        new(strategy, RateLimitItem.Parse(limit), scope, client);
}
