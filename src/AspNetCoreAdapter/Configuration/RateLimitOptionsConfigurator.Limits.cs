using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Reads limit lists: one delimited string (<c>"1/second;100/hour"</c>), or an array whose entries are strings or limit
/// objects (<c>{ "Limit": "10/second", "Cost": 2, "Methods": ["GET"] }</c>, Flask-Limiter's <c>Limit</c>,
/// <c>ApplicationLimit</c> and <c>MetaLimit</c>). Every problem of every entry is collected, with its path.
/// </summary>
internal sealed partial class RateLimitOptionsConfigurator
{
    private const string LimitSettings = "Limit, KeyHeader, Scope, Cost, Shared, Methods, PerMethod, ErrorMessage, MetaLimits, FailureMode or Leasing";
    private const string MetaLimitSettings = "Limit, KeyHeader, Scope, Cost or ErrorMessage";

    private static void Limits(ICollection<RateLimitValue> list, IConfigurationSection setting, List<string> problems, LimitKind kind)
    {
        if (setting.Value is { } single)
        {
            AddText(list, setting, single, problems);
            return;
        }

        var entries = setting.GetChildren().ToList();
        if (entries.Count > 0 && !entries.All(e => int.TryParse(e.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            // A single limit object in place of the array.
            entries = [setting];
        }

        foreach (var entry in entries)
        {
            if (entry.Value is { } text)
            {
                AddText(list, setting, text, problems);
            }
            else if (kind == LimitKind.Fallback)
            {
                problems.Add($"Configuration value {Path(entry)} is not a limit; in-memory fallback limits are plain strings such as \"1/second\".");
            }
            else if (LimitObject(entry, problems, kind) is { } value)
            {
                list.Add(value);
            }
        }
    }

    private static void AddText(ICollection<RateLimitValue> list, IConfigurationSection setting, string text, List<string> problems)
    {
        try
        {
            list.Add(RateLimitValue.Parse(text));
        }
        catch (FormatException e)
        {
            problems.Add($"{Path(setting)}: {e.Message}");
        }
    }

    /// <summary>A limit object, or <see langword="null"/> when it has problems (added to <paramref name="problems"/>).</summary>
    private static RateLimitValue? LimitObject(IConfigurationSection entry, List<string> problems, LimitKind kind)
    {
        var found = problems.Count;
        RateLimitValue? value = null;
        var settings = new List<Action<LimitDefinition>>();
        foreach (var setting in entry.GetChildren())
        {
            Collect(problems, () =>
            {
                var key = setting.Key.ToUpperInvariant();
                if (kind == LimitKind.Meta && key is not ("LIMIT" or "KEYHEADER" or "SCOPE" or "COST" or "ERRORMESSAGE"))
                {
                    throw Invalid(setting, $"is not a meta-limit setting; use {MetaLimitSettings}");
                }

                switch (key)
                {
                    case "LIMIT":
                        value = ParseLimit(setting, problems);
                        break;
                    case "KEYHEADER":
                        var header = Text(setting);
                        var selector = LimitDefinition.HeaderKey(header);
                        settings.Add(d => d.KeySelector = selector);
                        break;
                    case "SCOPE":
                        var scope = Text(setting);
                        settings.Add(d => d.Scope = scope);
                        break;
                    case "COST":
                        var cost = CostValue(setting);
                        settings.Add(d => d.Cost = cost);
                        break;
                    case "SHARED":
                        var shared = Bool(setting);
                        if (kind == LimitKind.Application && !shared)
                        {
                            throw Invalid(setting, "can't be false: application limits are always shared");
                        }

                        settings.Add(d => d.Shared = shared);
                        break;
                    case "METHODS":
                        var methods = Methods(setting);
                        settings.Add(d => d.Methods = methods);
                        break;
                    case "PERMETHOD":
                        var perMethod = Bool(setting);
                        settings.Add(d => d.PerMethod = perMethod);
                        break;
                    case "ERRORMESSAGE":
                        var message = setting.Value ?? "";
                        settings.Add(d => d.ErrorMessage = message);
                        break;
                    case "METALIMITS":
                        var metaLimits = MetaLimitsOf(setting, problems);
                        settings.Add(d => d.MetaLimits = metaLimits);
                        break;
                    case "FAILUREMODE":
                        var mode = Enum<RateLimitFailureMode>(setting);
                        settings.Add(d => d.FailureMode = mode);
                        break;
                    case "LEASING":
                        var leasing = Enum<RateLimitLeasing>(setting);
                        settings.Add(d => d.Leasing = leasing);
                        break;
                    default:
                        throw Invalid(setting, $"is not a rate-limit setting; use {LimitSettings}");
                }
            });
        }

        if (value is null && entry.GetSection("Limit").Value is null)
        {
            problems.Add($"Configuration value {Path(entry)} has no Limit, the limit in rate-limit notation such as \"10/second\".");
        }

        if (problems.Count > found || value is null)
        {
            return null;
        }

        var all = settings.ToArray();
        return value.WithSettings(definition =>
        {
            foreach (var apply in all)
            {
                apply(definition);
            }
        });
    }

    private static RateLimitValue? ParseLimit(IConfigurationSection setting, List<string> problems)
    {
        try
        {
            return RateLimitValue.Parse(Text(setting));
        }
        catch (FormatException e)
        {
            problems.Add($"{Path(setting)}: {e.Message}");
            return null;
        }
    }

    private static List<RateLimitValue> MetaLimitsOf(IConfigurationSection section, List<string> problems)
    {
        var metaLimits = new List<RateLimitValue>();
        Limits(metaLimits, section, problems, LimitKind.Meta);
        return metaLimits;
    }

    private static int CostValue(IConfigurationSection setting) =>
        int.TryParse(setting.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var cost)
            ? cost
            : throw Invalid(setting, "is not a cost; use a whole number of 0 or more");

    private static System.Collections.Frozen.FrozenSet<string> Methods(IConfigurationSection setting)
    {
        var methods = setting.Value is { } single ? single.Split(',') : setting.GetChildren().Select(c => c.Value ?? "").ToArray();
        if (methods.Length == 0 || methods.Any(string.IsNullOrWhiteSpace))
        {
            throw Invalid(setting, "is not a list of HTTP methods; use e.g. [\"GET\", \"POST\"]");
        }

        return RateLimitBuilder.NormalizeMethods(methods);
    }
}
