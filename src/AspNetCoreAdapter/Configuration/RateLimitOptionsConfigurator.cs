using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Reads the <c>RateLimit</c> configuration section into <see cref="RateLimitOptions"/>. Every value is checked and a bad
/// one fails the start with its configuration path; an unknown key fails too, so a misspelt option is not silently ignored.
/// </summary>
/// <remarks>
/// Problems are not thrown here but kept with the options they were found for, and <see cref="RateLimitOptionsValidator"/>
/// reports them first: one start names every bad value, unknown key and malformed limit, together with what the
/// validation of the whole finds, rather than one problem per attempt.
/// </remarks>
internal sealed partial class RateLimitOptionsConfigurator(IConfiguration configuration, string sectionName) : IConfigureOptions<RateLimitOptions>
{
    private static readonly ConditionalWeakTable<RateLimitOptions, IReadOnlyList<string>> Problems = [];

    public void Configure(RateLimitOptions options)
    {
        var problems = new List<string>();
        foreach (var setting in configuration.GetSection(sectionName).GetChildren())
        {
            Collect(problems, () => Apply(options, setting, problems));
        }

        if (problems.Count > 0)
        {
            Problems.AddOrUpdate(options, problems);
        }
    }

    /// <summary>The problems found in configuration when <paramref name="options"/> were configured, in configuration order.</summary>
    public static IReadOnlyList<string> ProblemsOf(RateLimitOptions options) =>
        Problems.TryGetValue(options, out var problems) ? problems : [];

    private static void Collect(List<string> problems, Action apply)
    {
        try
        {
            apply();
        }
        catch (OptionsValidationException e)
        {
            problems.AddRange(e.Failures);
        }
    }

    private static void Apply(RateLimitOptions options, IConfigurationSection setting, List<string> problems)
    {
        switch (setting.Key.ToUpperInvariant())
        {
            case "ENABLED": options.Enabled = Bool(setting); break;
            case "BACKEND": options.Backend = Enum<RateLimitBackend>(setting); break;
            case "STRATEGY": options.Strategy = Strategy(setting); break;
            case "KEYHEADER": options.KeySelector = KeySelectors.Header(Text(setting)); break;
            case "KEYPREFIX": options.KeyPrefix = setting.Value ?? ""; break;
            case "DEFAULTLIMITS": Limits(options.DefaultLimits, setting, problems, LimitKind.Default); break;
            case "DEFAULTLIMITSPERMETHOD": options.DefaultLimitsPerMethod = Bool(setting); break;
            case "DEFAULTLIMITSCOST": options.DefaultLimitsCost = Cost(setting); break;
            case "APPLICATIONLIMITS": Limits(options.ApplicationLimits, setting, problems, LimitKind.Application); break;
            case "APPLICATIONLIMITSPERMETHOD": options.ApplicationLimitsPerMethod = Bool(setting); break;
            case "APPLICATIONLIMITSCOST": options.ApplicationLimitsCost = Cost(setting); break;
            case "METALIMITS": Limits(options.MetaLimits, setting, problems, LimitKind.Meta); break;
            case "HEADERSENABLED": options.HeadersEnabled = Bool(setting); break;
            case "HEADERFIELDS": options.HeaderFields = Enum<RateLimitHeaderFields>(setting); break;
            case "HEADERNAMES": HeaderNames(options.HeaderNames, setting, problems); break;
            case "RETRYAFTERFORMAT": options.RetryAfterFormat = RetryAfter(setting); break;
            case "FAILONFIRSTBREACH": options.FailOnFirstBreach = Bool(setting); break;
            case "SWALLOWERRORS": options.SwallowErrors = Bool(setting); break;
            case "INMEMORYFALLBACKENABLED": options.InMemoryFallbackEnabled = Bool(setting); break;
            case "INMEMORYFALLBACK": Limits(options.InMemoryFallback, setting, problems, LimitKind.Fallback); break;
            case "FAILUREMODE": options.FailureMode = Enum<RateLimitFailureMode>(setting); break;
            case "LEASING": options.Leasing = Enum<RateLimitLeasing>(setting); break;
            case "GRAINCALLTIMEOUT": options.GrainCallTimeout = Duration(setting); break;
            case "CIRCUITBREAKERTHRESHOLD": options.CircuitBreakerThreshold = Count(setting); break;
            case "CIRCUITBREAKERDURATION": options.CircuitBreakerDuration = NonNegativeDuration(setting); break;
            case "PARTITIONS": options.Partitions = Count(setting); break;
            default: throw Invalid(setting, "is not a rate-limit option");
        }
    }

    private static void HeaderNames(RateLimitHeaderNames names, IConfigurationSection section, List<string> problems)
    {
        foreach (var setting in section.GetChildren())
        {
            Collect(problems, () =>
            {
                switch (setting.Key.ToUpperInvariant())
                {
                    case "LIMIT": names.Limit = Text(setting); break;
                    case "REMAINING": names.Remaining = Text(setting); break;
                    case "RESET": names.Reset = Text(setting); break;
                    case "RETRYAFTER": names.RetryAfter = Text(setting); break;
                    default: throw Invalid(setting, "is not a header name option; use Limit, Remaining, Reset or RetryAfter");
                }
            });
        }
    }

    private static RateLimitStrategy Strategy(IConfigurationSection setting) =>
        // Flask-Limiter's names are accepted too, so existing configuration carries over.
        (setting.Value ?? "").Trim().ToUpperInvariant() switch
        {
            "FIXED-WINDOW" => RateLimitStrategy.FixedWindow,
            "MOVING-WINDOW" => RateLimitStrategy.MovingWindow,
            "SLIDING-WINDOW-COUNTER" => RateLimitStrategy.SlidingWindowCounter,
            _ => Enum<RateLimitStrategy>(setting),
        };

    private static RetryAfterFormat RetryAfter(IConfigurationSection setting) =>
        (setting.Value ?? "").Trim().ToUpperInvariant() switch
        {
            "HTTP-DATE" => RetryAfterFormat.HttpDate,
            "DELTA-SECONDS" => RetryAfterFormat.DeltaSeconds,
            _ => Enum<RetryAfterFormat>(setting),
        };

    private static TEnum Enum<TEnum>(IConfigurationSection setting)
        where TEnum : struct, Enum
    {
        var value = setting.Value ?? "";
        if (!value.AsSpan().ContainsAnyInRange('0', '9') && System.Enum.TryParse<TEnum>(value, ignoreCase: true, out var parsed))
        {
            return parsed;
        }

        throw Invalid(setting, $"is not one of {string.Join(", ", System.Enum.GetNames<TEnum>())}");
    }

    private static bool Bool(IConfigurationSection setting) =>
        bool.TryParse(setting.Value, out var value) ? value : throw Invalid(setting, "is not true or false");

    private static Func<Microsoft.AspNetCore.Http.HttpContext, int> Cost(IConfigurationSection setting)
    {
        if (!int.TryParse(setting.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var cost))
        {
            throw Invalid(setting, "is not a cost; use a whole number of 0 or more");
        }

        return _ => cost;
    }

    private static int Count(IConfigurationSection setting) =>
        int.TryParse(setting.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0
            ? count
            : throw Invalid(setting, "is not a count; use a whole number of 1 or more");

    private static TimeSpan Duration(IConfigurationSection setting) =>
        TimeSpan.TryParse(setting.Value, CultureInfo.InvariantCulture, out var duration) && duration > TimeSpan.Zero
            ? duration
            : throw Invalid(setting, "is not a positive duration; use hh:mm:ss.fff, e.g. 00:00:00.050");

    private static TimeSpan NonNegativeDuration(IConfigurationSection setting) =>
        TimeSpan.TryParse(setting.Value, CultureInfo.InvariantCulture, out var span) && span >= TimeSpan.Zero
            ? span
            : throw Invalid(setting, "is not a duration of zero or more; use hh:mm:ss.fff, e.g. 00:00:01");

    private static string Text(IConfigurationSection setting) =>
        string.IsNullOrWhiteSpace(setting.Value) ? throw Invalid(setting, "is empty") : setting.Value.Trim();

    private static OptionsValidationException Invalid(IConfigurationSection setting, string problem)
    {
        var value = setting.Value is { } v ? $" '{(v.Length > 100 ? v[..100] + "…" : v)}'" : "";
        var message = $"Configuration value {Path(setting)}{value} {problem}.";
        return new OptionsValidationException(Path(setting), typeof(RateLimitOptions), [message]);
    }

    private static string Path(IConfigurationSection setting) => setting.Path;
}
