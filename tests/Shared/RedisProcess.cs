using System.Collections.Concurrent;
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
    private const int KeptOutputLines = 20;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private Process? _process;
    private bool _started;

    /// <summary>The server's port; it changes only when the first start found it taken, and never after a start.</summary>
    public int Port { get; private set; } = LoopbackPorts.Take(1)[0];

    public string ConnectionString => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Starts the server and returns once it accepts connections. The first start moves to a new port if another process
    /// bound this one meanwhile; a restart keeps the port, which clients already know.
    /// </summary>
    public async Task StartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnceAsync().ConfigureAwait(false);
                _started = true;
                return;
            }
            catch (InvalidOperationException e) when (!_started && attempt < 3 && LoopbackPorts.IsAddressInUse(e))
            {
                Port = LoopbackPorts.Take(1)[0];
            }
        }
    }

    private async Task StartOnceAsync()
    {
        var executable = FindExecutable();
        var output = new ConcurrentQueue<string>();
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
        process.OutputDataReceived += (_, e) => Keep(output, e.Data);
        process.ErrorDataReceived += (_, e) => Keep(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                // Until the end of its output, which tells why, e.g. "bind: Address already in use".
                await process.WaitForExitAsync().ConfigureAwait(false);
                var code = process.ExitCode;
                Stop();
                throw new InvalidOperationException(
                    $"redis-server exited with code {code} before listening on 127.0.0.1:{Port}:{Environment.NewLine}{string.Join(Environment.NewLine, output)}");
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

    private static void Keep(ConcurrentQueue<string> output, string? line)
    {
        if (line is null)
        {
            return;
        }

        output.Enqueue(line);
        while (output.Count > KeptOutputLines && output.TryDequeue(out _))
        {
        }
    }

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

/// <summary>
/// Free loopback ports for servers whose ports must be known before they start: silos, gateways, redis-server, processes.
/// </summary>
/// <remarks>
/// A port is checked free, then released, then bound by the server a moment later. Ports are taken outside the kernel's
/// ephemeral range, so that no outgoing connection of any process on the machine is given one of them in that moment, from
/// a random starting point per process, so that test processes running side by side look at different ports, and never twice
/// in one process. A server that still finds its port taken is started again on new ports by <see cref="StartAsync"/>.
/// </remarks>
internal static class LoopbackPorts
{
    /// <summary>Below this are the well-known ports and many registered services' defaults.</summary>
    private const int LowestPort = 10_000;

    private const int HighestPort = IPEndPoint.MaxPort;

    /// <summary>How often a start is tried on new ports when one of its ports was taken meanwhile.</summary>
    private const int StartAttempts = 3;

    private static readonly (int First, int Last)[] Ranges = CandidateRanges();
    private static readonly int CandidateCount = Ranges.Sum(range => range.Last - range.First + 1);
    private static int _cursor = Random.Shared.Next(CandidateCount);

    /// <summary>Ports free at the moment, none handed out before by this process.</summary>
    public static int[] Take(int count)
    {
        var ports = new int[count];
        for (var i = 0; i < count; i++)
        {
            ports[i] = TakeOne();
        }

        return ports;
    }

    /// <summary>
    /// Runs <paramref name="start"/> with <paramref name="count"/> ports from <see cref="Take"/>, and again with new ports when it
    /// failed because one of them was bound meanwhile; <paramref name="start"/> cleans up after its own failure.
    /// </summary>
    public static async Task<T> StartAsync<T>(int count, Func<int[], Task<T>> start)
    {
        ArgumentNullException.ThrowIfNull(start);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start(Take(count)).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < StartAttempts && IsAddressInUse(e))
            {
                // Another process bound one of the ports between the check and the start: take others.
            }
        }
    }

    /// <summary>Whether <paramref name="failure"/>, or an exception it wraps, is a bind to an address already in use.</summary>
    public static bool IsAddressInUse(Exception? failure) => failure switch
    {
        null => false,
        SocketException socket when socket.SocketErrorCode == SocketError.AddressAlreadyInUse => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsAddressInUse),
        _ => failure.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase) || IsAddressInUse(failure.InnerException),
    };

    private static int TakeOne()
    {
        for (var tried = 0; tried < CandidateCount; tried++)
        {
            var index = (int)((uint)Interlocked.Increment(ref _cursor) % (uint)CandidateCount);
            var port = PortAt(index);
            if (IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"No free loopback port between {LowestPort} and {HighestPort} outside the ephemeral range.");
    }

    private static int PortAt(int index)
    {
        foreach (var (first, last) in Ranges)
        {
            var size = last - first + 1;
            if (index < size)
            {
                return first + index;
            }

            index -= size;
        }

        throw new ArgumentOutOfRangeException(nameof(index));
    }

    /// <summary>Whether a listener can bind the port on 127.0.0.1 now; one on 127.0.0.1, on any address or on [::] stops it.</summary>
    private static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The ports from <see cref="LowestPort"/> up that lie outside the ephemeral range; all of them if none do.</summary>
    private static (int First, int Last)[] CandidateRanges()
    {
        var (ephemeralFirst, ephemeralLast) = EphemeralRange();
        var ranges = new List<(int First, int Last)>();
        if (ephemeralFirst - 1 >= LowestPort)
        {
            ranges.Add((LowestPort, ephemeralFirst - 1));
        }

        if (ephemeralLast + 1 <= HighestPort)
        {
            ranges.Add((Math.Max(LowestPort, ephemeralLast + 1), HighestPort));
        }

        return ranges.Count > 0 ? [.. ranges] : [(LowestPort, HighestPort)];
    }

    /// <summary>Linux's range from /proc; where that cannot be read, 32768-65535, which holds Linux's default and IANA's.</summary>
    private static (int First, int Last) EphemeralRange()
    {
        const string Setting = "/proc/sys/net/ipv4/ip_local_port_range";
        try
        {
            if (File.Exists(Setting))
            {
                var bounds = File.ReadAllText(Setting).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (bounds.Length == 2
                    && int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                    && int.TryParse(bounds[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
                    && first <= last)
                {
                    return (first, last);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unreadable: the default below.
        }

        return (32_768, 65_535);
    }
}
