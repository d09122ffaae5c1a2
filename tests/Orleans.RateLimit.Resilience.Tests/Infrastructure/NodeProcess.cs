using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// A program of this repository's build output (the standalone silo host, the sample web app) run as its own process with
/// <c>dotnet</c>, configured by environment variables. Faults are POSIX signals: SIGKILL (crash), SIGTERM (graceful stop),
/// SIGSTOP and SIGCONT (the process hangs with its connections open, then carries on).
/// </summary>
internal sealed class NodeProcess : IDisposable
{
    private const int KeptOutputLines = 200;

    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private NodeProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="assemblyName"/>.dll from <paramref name="directory"/>, its working directory too (for its appsettings.json).</summary>
    public static NodeProcess Start(string name, string directory, string assemblyName, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(directory, assemblyName + ".dll") },
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };

        // No console colours or log scopes in the captured output.
        start.Environment["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"] = "false";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        start.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {assemblyName}.");
        var node = new NodeProcess(name, process);
        process.OutputDataReceived += (_, e) => node.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => node.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>SIGKILL: the process dies at once, without deactivating its grains or leaving the cluster.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit(5_000);
    }

    /// <summary>SIGTERM, then waits for the process to exit: the host stops the silo, which writes its windows and leaves the cluster.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        await SignalAsync("TERM");
        using var cancellation = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancellation.Token);
    }

    /// <summary>SIGSTOP, then waits until every thread of the process has stopped: its sockets stay open and nothing answers.</summary>
    public async Task PauseAsync()
    {
        await SignalAsync("STOP");
        await WaitUntilAsync(stopped: true);
    }

    /// <summary>SIGCONT, then waits until no thread of the process is stopped: a paused process carries on where it stopped.</summary>
    public async Task ResumeAsync()
    {
        await SignalAsync("CONT");
        await WaitUntilAsync(stopped: false);
    }

    /// <summary>
    /// The loopback port Kestrel reported binding ("Now listening on: http://127.0.0.1:…", logged at start by the web app
    /// started with <c>Urls=http://127.0.0.1:0</c>); <see langword="null"/> until it has.
    /// </summary>
    public int? ListeningPort()
    {
        const string Listening = "Now listening on: http://127.0.0.1:";
        foreach (var line in _output)
        {
            var at = line.IndexOf(Listening, StringComparison.Ordinal);
            if (at >= 0 && int.TryParse(line.AsSpan(at + Listening.Length).TrimEnd('/'), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                return port;
            }
        }

        return null;
    }

    /// <summary>The last lines the process wrote, for a failure message.</summary>
    public string RecentOutput() => $"--- last output of {Name} (pid {Id}) ---{Environment.NewLine}{string.Join(Environment.NewLine, _output)}";

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                // SIGKILL ends a paused process too.
                _process.Kill();
                _process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }

        _process.Dispose();
    }

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)])
            ?? throw new InvalidOperationException($"Could not send SIG{signal} to {Name}.");
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed with exit code {kill.ExitCode}.");
        }
    }

    /// <summary>
    /// Until every thread of the process is stopped by a signal, or none is (state T in /proc/{pid}/task/{tid}/stat): a signal
    /// is sent when kill returns, and this is when it has taken effect. Where /proc is missing the signal is all there is.
    /// </summary>
    private async Task WaitUntilAsync(bool stopped)
    {
        var tasks = $"/proc/{Id.ToString(CultureInfo.InvariantCulture)}/task";
        if (!System.IO.Directory.Exists(tasks))
        {
            return;
        }

        var waited = Stopwatch.StartNew();
        char[] states;
        while ((states = ThreadStates(tasks)).Length == 0 || !Array.TrueForAll(states, state => (state == 'T') == stopped))
        {
            if (waited.Elapsed > SignalTimeout)
            {
                throw new TimeoutException(
                    $"{Name} (pid {Id}) did not {(stopped ? "stop" : "continue")} within {SignalTimeout.TotalSeconds} s; thread states: {string.Join(" ", states)}");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>The state letter of each thread; a thread that ended meanwhile is left out.</summary>
    private static char[] ThreadStates(string tasks)
    {
        var states = new List<char>();
        foreach (var task in System.IO.Directory.EnumerateDirectories(tasks))
        {
            try
            {
                // "tid (comm) S ...": the name may hold spaces and parentheses, so the state follows the last ')'.
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var state = stat[(stat.LastIndexOf(')') + 2)..].TrimStart();
                states.Add(state[0]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException or IndexOutOfRangeException)
            {
                // The thread ended between the listing and the read.
            }
        }

        return [.. states];
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > KeptOutputLines && _output.TryDequeue(out _))
        {
        }
    }
}
