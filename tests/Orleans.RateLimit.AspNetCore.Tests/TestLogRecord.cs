using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>One log record of a <see cref="TestApp"/> node, as written.</summary>
public sealed record TestLogRecord(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    public override string ToString() =>
        Exception is null ? $"{Level} {Category}[{EventId.Id}] {Message}" : $"{Level} {Category}[{EventId.Id}] {Message} {Exception}";
}
