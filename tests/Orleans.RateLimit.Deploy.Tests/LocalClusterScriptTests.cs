using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Orleans.RateLimit.Testing;

namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>
/// deploy/local/cluster.sh with real processes: redis-server and standalone silos on loopback ports of their own.
/// With Redis clustering the membership table lives in Redis; after a restart of redis-server it must still be there,
/// or a silo started afterwards would form a second cluster.
/// </summary>
public sealed partial class LocalClusterScriptTests : IDisposable
{
    private const string Script = "deploy/local/cluster.sh";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(90);

    private readonly string _runDirectory = Directory.CreateTempSubdirectory("ratelimit-cluster-").FullName;
    private readonly int _siloPort;
    private readonly Dictionary<string, string> _environment;

    public LocalClusterScriptTests()
    {
        var siloPorts = ConsecutiveFreePorts(6);
        _siloPort = siloPorts[0];
        _environment = new()
        {
            ["RUN_DIR"] = _runDirectory,
            ["REDIS_PORT"] = LoopbackPorts.Take(1)[0].ToString(CultureInfo.InvariantCulture),
            ["SILO_PORT"] = _siloPort.ToString(CultureInfo.InvariantCulture),
            ["GATEWAY_PORT"] = siloPorts[3].ToString(CultureInfo.InvariantCulture),
#if DEBUG
            ["CONFIGURATION"] = "Debug",
#else
            ["CONFIGURATION"] = "Release",
#endif
            // No build server outliving the script.
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        };
    }

    [Fact]
    public async Task Membership_survives_a_redis_restart_and_a_silo_started_afterwards_joins_the_same_cluster()
    {
        await RunAsync("start", "2");
        var before = await WaitForActiveSilosAsync(2);
        Assert.Equal([$"127.0.0.1:{_siloPort}", $"127.0.0.1:{_siloPort + 1}"], before.Rows.Select(r => r.Endpoint));

        var restart = await RunAsync("restart-redis");
        Assert.Contains($"redis: restarted on 127.0.0.1:{_environment["REDIS_PORT"]}", restart, StringComparison.Ordinal);
        var afterRestart = await MembersAsync();
        Assert.Equal(before.Version, afterRestart.Version);
        Assert.Equal(before.Rows, afterRestart.Rows);

        await RunAsync("start", "3");
        var joined = await WaitForActiveSilosAsync(3);
        Assert.Equal(before.Rows, joined.Rows.Take(2));
        Assert.Equal($"127.0.0.1:{_siloPort + 2}", joined.Rows[2].Endpoint);
        Assert.True(joined.Version > before.Version, $"version {joined.Version} after the join, {before.Version} before");

        // An emptied membership table shows in every silo's log as failed updates of its own row.
        foreach (var log in Directory.GetFiles(_runDirectory, "silo*.log"))
        {
            Assert.DoesNotContain("bad argument", await File.ReadAllTextAsync(log), StringComparison.Ordinal);
        }
    }

    public void Dispose()
    {
        try
        {
            RunAsync("stop").GetAwaiter().GetResult();
        }
        finally
        {
            Directory.Delete(_runDirectory, recursive: true);
        }
    }

    private sealed record Silo(string Endpoint, string Generation, string Status);

    private sealed record Membership(int Version, List<Silo> Rows);

    private async Task<Membership> WaitForActiveSilosAsync(int count)
    {
        var clock = Stopwatch.StartNew();
        Membership? last = null;
        while (clock.Elapsed < JoinTimeout)
        {
            last = await MembersAsync(allowMissing: true);
            if (last.Rows.Count == count && last.Rows.All(row => row.Status == "Active"))
            {
                return last;
            }

            await Task.Delay(500);
        }

        throw new TimeoutException(
            $"{count} active silos expected within {JoinTimeout.TotalSeconds} s, the table has: {string.Join(", ", last?.Rows ?? [])}");
    }

    private async Task<Membership> MembersAsync(bool allowMissing = false)
    {
        var output = await RunAsync(allowMissing, "members");
        var version = VersionPattern().Match(output);
        if (!version.Success)
        {
            return allowMissing ? new Membership(0, []) : throw new InvalidOperationException($"No membership table: {output}");
        }

        var rows = RowPattern().Matches(output)
            .Select(m => new Silo(m.Groups["endpoint"].Value, m.Groups["generation"].Value, m.Groups["status"].Value))
            .ToList();
        return new Membership(int.Parse(version.Groups[1].Value, CultureInfo.InvariantCulture), rows);
    }

    private Task<string> RunAsync(params string[] arguments) => RunAsync(false, arguments);

    // The script's output goes to a file, not a pipe: the silos it starts in the background must not hold our pipe open.
    private async Task<string> RunAsync(bool allowFailure, params string[] arguments)
    {
        var outputFile = Path.Combine(_runDirectory, "command.out");
        var start = new ProcessStartInfo("bash") { UseShellExecute = false, WorkingDirectory = Repository.Root };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$0\" \"$@\" >\"$COMMAND_OUTPUT\" 2>&1");
        start.ArgumentList.Add(Repository.PathOf(Script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["COMMAND_OUTPUT"] = outputFile;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start bash.");
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Script} {string.Join(' ', arguments)} did not end within {CommandTimeout.TotalMinutes} min.");
        }

        var output = await File.ReadAllTextAsync(outputFile);
        if (process.ExitCode != 0 && !allowFailure)
        {
            throw new InvalidOperationException($"{Script} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}");
        }

        return output;
    }

    /// <summary>Ports p, p+1, ... free on loopback at the moment, below the kernel's ephemeral range.</summary>
    private static int[] ConsecutiveFreePorts(int count)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var first = Random.Shared.Next(20_000, 32_000 - count);
            var ports = Enumerable.Range(first, count).ToArray();
            if (ports.All(IsFree))
            {
                return ports;
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free loopback ports found between 20000 and 32000.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"members/\S+: version (\d+)")]
    private static partial Regex VersionPattern();

    [GeneratedRegex(@"^\s+S(?<endpoint>[\d.]+:\d+):(?<generation>\d+) (?<status>\w+)", RegexOptions.Multiline)]
    private static partial Regex RowPattern();
}
