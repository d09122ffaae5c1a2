using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Orleans.RateLimit.Testing;

/// <summary>
/// A real redis-server process on a free loopback port, without persistence of its own, for tests and benchmarks.
/// It can be stopped and started again on the same port.
/// </summary>
internal sealed class RedisProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private Process? _process;

    public int Port { get; } = LoopbackPorts.Take(1)[0];

    public string ConnectionString => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Starts the server and returns once it accepts connections.</summary>
    public async Task StartAsync()
    {
        var executable = FindExecutable();
        var process = Process.Start(new ProcessStartInfo(executable)
        {
            ArgumentList =
            {
                "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--protected-mode", "yes",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"Could not start {executable}.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                var code = process.ExitCode;
                Stop();
                throw new InvalidOperationException($"redis-server exited with code {code} before listening on 127.0.0.1:{Port}.");
            }

            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(20).ConfigureAwait(false);
            }
        }

        Stop();
        throw new TimeoutException($"redis-server did not listen on 127.0.0.1:{Port} within {StartTimeout.TotalSeconds} s.");
    }

    /// <summary>Kills the server; its data is gone.</summary>
    public void Stop()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(5_000);
        }

        _process?.Dispose();
        _process = null;
    }

    public void Dispose() => Stop();

    private static string FindExecutable()
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Append("/usr/sbin")
            .Append("/usr/local/bin");
        foreach (var directory in directories)
        {
            var candidate = Path.Combine(directory, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            "redis-server was not found on PATH, in /usr/bin, /usr/sbin or /usr/local/bin; install it (apt-get install -y redis-server) or run .ci/run, which does.");
    }
}

/// <summary>Free loopback ports, taken together so that one call never returns the same port twice.</summary>
internal static class LoopbackPorts
{
    public static int[] Take(int count)
    {
        var listeners = new TcpListener[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                listeners[i] = new TcpListener(IPAddress.Loopback, 0);
                listeners[i].Start();
            }

            return listeners.Select(listener => ((IPEndPoint)listener.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener?.Stop();
            }
        }
    }
}
