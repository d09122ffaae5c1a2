using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Orleans.RateLimit.Grains;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// A flood of unique client keys through two web nodes with embedded silos costs a few hundred bytes per window and no
/// activation per client: the windows live in the partition grains' dictionaries, which sweep them once they end, and the
/// heap returns to where it was.
/// </summary>
[Collection(FloodTestGroup.Name)]
public sealed class GrainFloodTests(ITestOutputHelper output) : AdapterTestBase(Backend.Grains)
{
    private const int HttpClients = 200_000;
    private const int GrainClients = 1_000_000;
    private const int WarmUpClients = 20_000;

    /// <summary>What a window may cost its owner: the client key, the window's counters and the dictionary entry.</summary>
    private const long BytesPerWindowBound = 300;

    /// <summary>
    /// What may stay behind once every window is swept: pooled buffers and the partitions' tables, which are trimmed when
    /// mostly empty but keep a working size. A window leaked per 40 clients of the HTTP flood would exceed it.
    /// </summary>
    private const long RetainedBound = 8L * 1024 * 1024;

    private const int CallsPerBatch = 1_000;
    private const int BatchesInFlight = 8;
    private const string PartitionGrainType = "Orleans.RateLimit.Grains.WindowPartitionGrain,";

    private static readonly TimeSpan FloodTimeout = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(60);
    private const string HourLimitText = "10/hour";
    private static readonly RateLimitItem HourLimit = RateLimitItem.Parse(HourLimitText);

    [Fact]
    public async Task Windows_of_200_000_unique_http_clients_cost_no_activation_each_and_are_swept_after_they_end()
    {
        await using var app = await StartFloodAppAsync();
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var management = grains.GetGrain<IManagementGrain>(0);

        await UniqueKeyFlood.RunAsync(app.Nodes, "/flood", "warm-", WarmUpClients, FloodTimeout);
        await ExpireAndSweepAsync(app, grains);
        var baseline = await ManagedMemory.SettledAsync(output.WriteLine);

        var took = await UniqueKeyFlood.RunAsync(app.Nodes, "/flood", "client-", HttpClients, FloodTimeout);
        var peak = ManagedMemory.Live();
        Assert.Equal(HttpClients, await WindowsHeldAsync(grains));
        var partitions = await PartitionActivationsAsync(management);
        Assert.True(partitions <= WindowPartition.DefaultCount, $"{partitions} partition grains are active; there are only {WindowPartition.DefaultCount} partitions.");

        await ExpireAndSweepAsync(app, grains);
        var after = ManagedMemory.Live();

        var perWindow = (peak - baseline) / HttpClients;
        output.WriteLine($"flood: {HttpClients} requests, one per client, over both nodes in {took.TotalSeconds:F1} s ({HttpClients / took.TotalSeconds:F0} requests/s), {partitions} partition grains");
        output.WriteLine($"baseline {ManagedMemory.Megabytes(baseline)}, peak {ManagedMemory.Megabytes(peak)} ({perWindow} bytes per window), after the sweep {ManagedMemory.Megabytes(after)}, retained {after - baseline} bytes");
        Assert.True(perWindow <= BytesPerWindowBound, $"A window took {perWindow} bytes; the bound is {BytesPerWindowBound}.");
        Assert.True(after - baseline < RetainedBound, $"{after - baseline} bytes stayed behind after every window was swept; the bound is {RetainedBound}.");
    }

    /// <summary>
    /// A million windows of an hour-long limit, sent to their owners in batches (the HTTP path is measured above), so that
    /// what is measured is what the owners hold per window.
    /// </summary>
    [Fact]
    public async Task Partition_grains_hold_a_million_hour_long_windows_in_at_most_300_bytes_each_and_give_them_back()
    {
        await using var app = await StartFloodAppAsync();
        var grains = app.Services.GetRequiredService<IGrainFactory>();

        await HitUniqueWindowsAsync(grains, "warm-", WarmUpClients);
        await ExpireAndSweepAsync(app, grains);
        var baseline = await ManagedMemory.SettledAsync(output.WriteLine);

        var took = Stopwatch.StartNew();
        await HitUniqueWindowsAsync(grains, "client-", GrainClients);
        took.Stop();
        var peak = ManagedMemory.Live();
        Assert.Equal(GrainClients, await WindowsHeldAsync(grains));

        await ExpireAndSweepAsync(app, grains);
        var after = ManagedMemory.Live();

        var perWindow = (peak - baseline) / GrainClients;
        output.WriteLine($"{GrainClients} windows hit in {took.Elapsed.TotalSeconds:F1} s; baseline {ManagedMemory.Megabytes(baseline)}, peak {ManagedMemory.Megabytes(peak)} ({perWindow} bytes per window), after the sweep {ManagedMemory.Megabytes(after)}, retained {after - baseline} bytes");
        Assert.True(perWindow <= BytesPerWindowBound, $"A window took {perWindow} bytes; the bound is {BytesPerWindowBound}.");
        Assert.True(after - baseline < RetainedBound, $"{after - baseline} bytes stayed behind after every window was swept; the bound is {RetainedBound}.");
    }

    /// <summary>Two web nodes with embedded silos and one endpoint limited per <see cref="UniqueKeyFlood.Header"/>, an hour long.</summary>
    private Task<TestApp> StartFloodAppAsync() =>
        StartAsync(null, a => a.MapGet("/flood", () => "ok").RateLimit(HourLimitText, l => l.KeySelector(KeySelectors.Header(UniqueKeyFlood.Header))));

    /// <summary>
    /// Hits one window for each of <paramref name="count"/> clients, in batches of <see cref="CallsPerBatch"/> per owner,
    /// <see cref="BatchesInFlight"/> at a time: as many calls in flight as a busy web node has, not a thousand, which would
    /// grow the thread pool and the per-thread buffer pools and blur the measurement.
    /// </summary>
    private static async Task HitUniqueWindowsAsync(IGrainFactory grains, string prefix, int count)
    {
        var batches = new List<WindowCall>?[WindowPartition.DefaultCount];
        var sends = new List<Task>(BatchesInFlight);
        using var deadline = new CancellationTokenSource(FloodTimeout);
        for (var n = 0; n < count; n++)
        {
            var key = prefix + n.ToString(CultureInfo.InvariantCulture);
            var window = new RateLimitWindowKey(RateLimitStrategy.FixedWindow, HourLimit, "/flood", key);
            var partition = WindowPartition.IndexOf(key, WindowPartition.DefaultCount);
            var batch = batches[partition] ??= new List<WindowCall>(CallsPerBatch);
            batch.Add(new WindowCall(new WindowRef(window), WindowOperation.Hit, 1, StopIfRefused: false));
            if (batch.Count == CallsPerBatch || n == count - 1)
            {
                await SendBoundedAsync(sends, SendAsync(grains, partition, batch), deadline.Token);
                batches[partition] = null;
            }
        }

        for (var partition = 0; partition < batches.Length; partition++)
        {
            if (batches[partition] is { } rest)
            {
                await SendBoundedAsync(sends, SendAsync(grains, partition, rest), deadline.Token);
            }
        }

        await Task.WhenAll(sends).WaitAsync(deadline.Token);
    }

    private static async Task SendBoundedAsync(List<Task> sends, Task send, CancellationToken cancellationToken)
    {
        sends.Add(send);
        if (sends.Count == BatchesInFlight)
        {
            await Task.WhenAny(sends).WaitAsync(cancellationToken);
            sends.RemoveAll(task => task.IsCompleted);
        }
    }

    private static async Task SendAsync(IGrainFactory grains, int partition, List<WindowCall> batch)
    {
        var owner = grains.GetGrain<IWindowPartitionGrain>(new WindowPartition(partition, WindowPartition.DefaultCount).GrainKey);
        var decisions = await owner.Decide([.. batch]);
        Assert.All(decisions, decision => Assert.True(decision.Allowed));
    }

    private static async Task ExpireAndSweepAsync(TestApp app, IGrainFactory grains)
    {
        app.Clock.Advance(TimeSpan.FromHours(1) + WindowPartitionGrain.SweepInterval);
        await WaitUntilAsync(async () => await WindowsHeldAsync(grains) == 0, "every expired window to be swept");
    }

    private static async Task<int> WindowsHeldAsync(IGrainFactory grains)
    {
        var counts = await Task.WhenAll(Enumerable.Range(0, WindowPartition.DefaultCount)
            .Select(partition => grains.GetGrain<IWindowPartitionGrain>(new WindowPartition(partition, WindowPartition.DefaultCount).GrainKey).Count().AsTask()));
        return counts.Sum();
    }

    private static async Task<int> PartitionActivationsAsync(IManagementGrain management) =>
        (await management.GetSimpleGrainStatistics())
            .Where(statistic => statistic.GrainType.StartsWith(PartitionGrainType, StringComparison.Ordinal))
            .Sum(statistic => statistic.ActivationCount);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > SettleTimeout)
            {
                throw new TimeoutException($"Timed out after {waited.Elapsed.TotalSeconds:F0} s waiting for {what}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }
}
