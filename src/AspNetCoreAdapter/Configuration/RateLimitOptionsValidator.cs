using Orleans.RateLimit.Grains;
using Microsoft.Extensions.Options;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Checks <see cref="RateLimitOptions"/> at startup and names every bad option: first the problems
/// <see cref="RateLimitOptionsConfigurator"/> found in configuration, in configuration order, then those of the options as
/// configuration and code left them.
/// </summary>
internal sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    // Past Orleans' own 30 s response timeout a longer wait can't happen; anything near it defeats the point of a timeout.
    private static readonly TimeSpan MaxGrainCallTimeout = TimeSpan.FromSeconds(30);

    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        var failures = new List<string>(RateLimitOptionsConfigurator.ProblemsOf(options));
        Require(failures, System.Enum.IsDefined(options.Backend), $"RateLimitOptions.Backend ({options.Backend}) is not a backend.");
        Require(failures, System.Enum.IsDefined(options.Strategy), $"RateLimitOptions.Strategy ({options.Strategy}) is not a strategy.");
        Require(failures, System.Enum.IsDefined(options.RetryAfterFormat), $"RateLimitOptions.RetryAfterFormat ({options.RetryAfterFormat}) is not a format.");
        Require(failures, options.HeaderFields is > 0 and <= RateLimitHeaderFields.Both, $"RateLimitOptions.HeaderFields ({options.HeaderFields}) names no header fields.");
        Require(failures, System.Enum.IsDefined(options.FailureMode), $"RateLimitOptions.FailureMode ({options.FailureMode}) is not a failure mode.");
        Require(failures, System.Enum.IsDefined(options.Leasing), $"RateLimitOptions.Leasing ({options.Leasing}) is not a leasing mode.");
        Require(
            failures,
            options.GrainCallTimeout > TimeSpan.Zero && options.GrainCallTimeout <= MaxGrainCallTimeout,
            $"RateLimitOptions.GrainCallTimeout ({options.GrainCallTimeout}) must be more than zero and at most {MaxGrainCallTimeout}.");
        Require(failures, options.CircuitBreakerThreshold > 0, $"RateLimitOptions.CircuitBreakerThreshold ({options.CircuitBreakerThreshold}) must be 1 or more.");
        Require(
            failures,
            options.CircuitBreakerDuration >= TimeSpan.Zero && options.CircuitBreakerDuration <= RateLimitOptions.MaxCircuitBreakerDuration,
            $"RateLimitOptions.CircuitBreakerDuration ({options.CircuitBreakerDuration}) must be from zero to {RateLimitOptions.MaxCircuitBreakerDuration}.");
        Require(
            failures,
            options.Partitions is >= 1 and <= WindowPartition.MaxCount,
            $"RateLimitOptions.Partitions ({options.Partitions}) must be from 1 to {WindowPartition.MaxCount}.");
        Require(failures, options.KeySelector is not null, "RateLimitOptions.KeySelector is required.");
        Require(failures, options.KeyPrefix is not null, "RateLimitOptions.KeyPrefix may be empty but not null.");
        Require(failures, options.RequestFilters.All(f => f is not null), "RateLimitOptions.RequestFilters holds a null filter.");
        failures.AddRange(new LimiterLimits(options).Problems);
        foreach (var (header, value) in new[]
        {
            (nameof(RateLimitHeaderNames.Limit), options.HeaderNames.Limit), (nameof(RateLimitHeaderNames.Remaining), options.HeaderNames.Remaining),
            (nameof(RateLimitHeaderNames.Reset), options.HeaderNames.Reset), (nameof(RateLimitHeaderNames.RetryAfter), options.HeaderNames.RetryAfter),
        })
        {
            Require(failures, IsToken(value), $"RateLimitOptions.HeaderNames.{header} ('{value}') is not a valid header name.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Require(List<string> failures, bool condition, string failure)
    {
        if (!condition)
        {
            failures.Add(failure);
        }
    }

    // RFC 9110 token characters.
    private static bool IsToken(string? value) =>
        !string.IsNullOrEmpty(value) && value.All(c => c is > ' ' and < '\u007F' && !"\"(),/:;<=>?@[\\]{}".Contains(c, StringComparison.Ordinal));
}
