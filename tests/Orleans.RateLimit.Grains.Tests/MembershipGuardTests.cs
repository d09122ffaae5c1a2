using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Orleans.RateLimit.Testing;
using StackExchange.Redis;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// A standalone silo process with Redis clustering sees Redis lose its data (FLUSHALL, as a restart without persistence
/// would): it says so, as Critical, and stops, instead of running on beside a second cluster that a new silo would form.
/// </summary>
public sealed class MembershipGuardTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string Vanished = "The cluster's membership in Redis vanished";

    [Fact]
    public async Task A_silo_whose_membership_vanished_from_redis_stops_and_says_why()
    {
        var ports = LoopbackPorts.Take(2);
        var serviceId = "guard-" + Guid.NewGuid().ToString("N");
        var output = new ConcurrentQueue<string>();
        using var silo = StartSilo(ports[0], ports[1], serviceId, output);
        try
        {
            // The silo marks its cluster in Redis once it is active.
            var marker = new RedisKey($"{serviceId}/membership-marker/{serviceId}");
            await WaitAsync(async () => await redis.Database.KeyExistsAsync(marker), silo, output, "the cluster's marker in Redis");
            Assert.DoesNotContain(output, line => line.Contains(Vanished, StringComparison.Ordinal));

            await redis.Database.ExecuteAsync("FLUSHALL");

            await WaitAsync(() => Task.FromResult(output.Any(line => line.Contains(Vanished, StringComparison.Ordinal))), silo, output, "Critical log");
            Assert.Contains(output, line => line.Contains(Vanished + $": its marker {marker} is gone", StringComparison.Ordinal));
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await silo.WaitForExitAsync(exited.Token);
        }
        finally
        {
            if (!silo.HasExited)
            {
                silo.Kill();
            }
        }
    }

    private Process StartSilo(int siloPort, int gatewayPort, string serviceId, ConcurrentQueue<string> output)
    {
        var directory = StandaloneSiloTests.HostDirectory();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(directory, "Orleans.RateLimit.Silo.Host.dll") },
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["RateLimitSilo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["RateLimitSilo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["RateLimitSilo__ServiceId"] = serviceId;
        start.Environment["RateLimitSilo__ClusterId"] = serviceId;
        start.Environment["RateLimitSilo__Clustering"] = "Redis";
        start.Environment["RateLimitSilo__Redis"] = redis.ConnectionString;
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the standalone silo.");
        process.OutputDataReceived += (_, line) => Keep(output, line.Data);
        process.ErrorDataReceived += (_, line) => Keep(output, line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Keep(ConcurrentQueue<string> output, string? line)
    {
        if (line is not null)
        {
            output.Enqueue(line);
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, Process silo, ConcurrentQueue<string> output, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (silo.HasExited || clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"No {what} after {clock.Elapsed.TotalSeconds:0} s.{Environment.NewLine}{string.Join(Environment.NewLine, output.TakeLast(40))}");
            }

            await Task.Delay(100);
        }
    }
}
