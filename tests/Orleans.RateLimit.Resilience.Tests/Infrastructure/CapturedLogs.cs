using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>Keeps the log records of an in-test web node, stamped with the test's clock, so tests can assert on transitions and when they happened.</summary>
internal sealed class CapturedLogs(Stopwatch clock) : ILoggerProvider
{
    public const string CircuitCategory = "Orleans.RateLimit.AspNetCore.StorageCircuit";
    public const string FallingBack = "Rate limit storage unreachable - falling back to in-memory storage";
    public const string Recovered = "Rate limit storage recovered";

    private readonly Lock _gate = new();
    private readonly List<LogRecord> _records = [];

    public IReadOnlyList<LogRecord> Records
    {
        get
        {
            lock (_gate)
            {
                return [.. _records];
            }
        }
    }

    /// <summary>The circuit's records with exactly <paramref name="message"/>, written at or after <paramref name="since"/>.</summary>
    public IReadOnlyList<LogRecord> Circuit(string message, TimeSpan since = default) =>
        Records.Where(r => r.Category == CircuitCategory && r.Message == message && r.At >= since).ToList();

    /// <summary>Every record of the circuit written at or after <paramref name="since"/>.</summary>
    public IReadOnlyList<LogRecord> Circuit(TimeSpan since) =>
        Records.Where(r => r.Category == CircuitCategory && r.At >= since).ToList();

    /// <summary>Warnings and errors written at or after <paramref name="since"/>, other than the circuit's, for the test output.</summary>
    public IEnumerable<LogRecord> Problems(TimeSpan since, int max) =>
        Records.Where(r => r.Level >= LogLevel.Warning && r.At >= since && r.Category != CircuitCategory).Take(max);

    /// <summary>The test's clock.</summary>
    public TimeSpan Now => clock.Elapsed;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    // The records must outlive the host, which disposes its providers when it stops.
    public void Dispose()
    {
    }

    private void Add(LogRecord record)
    {
        lock (_gate)
        {
            _records.Add(record);
        }
    }

    private sealed class Logger(CapturedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            logs.Add(new LogRecord(logs.Now, category, logLevel, formatter(state, exception), exception));
    }
}
