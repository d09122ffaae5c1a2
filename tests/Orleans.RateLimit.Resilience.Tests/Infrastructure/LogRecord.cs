using Microsoft.Extensions.Logging;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>One log record of an in-test web node, with when it was written on the test's clock.</summary>
internal sealed record LogRecord(TimeSpan At, string Category, LogLevel Level, string Message, Exception? Exception)
{
    public override string ToString() =>
        $"{At.TotalSeconds,7:0.000}s {Level} {Category}: {Message}" + (Exception is null ? "" : $" ({Exception.GetType().Name}: {Exception.Message})");
}
