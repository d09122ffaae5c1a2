using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>Keeps every log record of every node of a <see cref="TestApp"/>, so tests can assert on what was logged.</summary>
public sealed class TestLogSink : ILoggerProvider
{
    private readonly Lock _gate = new();
    private readonly List<TestLogRecord> _records = [];

    /// <summary>A snapshot, in the order written.</summary>
    public IReadOnlyList<TestLogRecord> Records
    {
        get
        {
            lock (_gate)
            {
                return [.. _records];
            }
        }
    }

    public IReadOnlyList<string> Messages(LogLevel level) =>
        Records.Where(record => record.Level == level).Select(record => record.Message).ToList();

    public IReadOnlyList<TestLogRecord> ForCategory(string categoryPrefix) =>
        Records.Where(record => record.Category.StartsWith(categoryPrefix, StringComparison.Ordinal)).ToList();

    public void Clear()
    {
        lock (_gate)
        {
            _records.Clear();
        }
    }

    public ILogger CreateLogger(string categoryName) => new SinkLogger(this, categoryName);

    // One sink serves several nodes; each host disposes its providers, and the records must outlive them.
    public void Dispose()
    {
    }

    private void Add(TestLogRecord record)
    {
        lock (_gate)
        {
            _records.Add(record);
        }
    }

    private sealed class SinkLogger(TestLogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            sink.Add(new TestLogRecord(category, logLevel, eventId, formatter(state, exception), exception));
        }
    }
}
