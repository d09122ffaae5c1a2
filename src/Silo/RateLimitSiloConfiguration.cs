using System.Globalization;
using Microsoft.Extensions.Configuration;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// Reads a <c>RateLimitSilo</c> configuration section into <see cref="RateLimitSiloOptions"/>, strictly: keys are matched
/// case-insensitively, and an unknown key, a value that does not parse, or a key that does not apply to the section's
/// <see cref="RateLimitSiloOptions.Mode"/> is a problem naming its path. A misspelt key would otherwise leave its option at
/// the default, e.g. a silo meant for Redis clustering running alone on localhost.
/// </summary>
internal static class RateLimitSiloConfiguration
{
    private const string GrainOptions = "RedisConnectionString, PersistenceThreshold, MinFlushInterval, MaxFlushInterval, ExpiryGrace or StorageTimeout";
    private const string MembershipOptions = "ProbeTimeout, NumMissedProbesLimit, NumVotesForDeathDeclaration, DeathVoteExpirationTimeout or TableRefreshTimeout";

    /// <summary>The options <paramref name="section"/> sets; every problem found is added to <paramref name="problems"/>, in configuration order.</summary>
    public static RateLimitSiloOptions Read(IConfigurationSection section, List<string> problems)
    {
        var options = new RateLimitSiloOptions();
        var settings = section.GetChildren().ToList();

        // The mode first: it decides which of the other keys apply.
        foreach (var mode in settings.Where(setting => Is(setting, nameof(RateLimitSiloOptions.Mode))))
        {
            options.Mode = Enum(mode, problems, options.Mode);
        }

        foreach (var setting in settings)
        {
            Apply(options, setting, problems);
        }

        return options;
    }

    private static void Apply(RateLimitSiloOptions options, IConfigurationSection setting, List<string> problems)
    {
        var key = setting.Key.ToUpperInvariant();
        if (ModeOf(key) is { } mode && mode != options.Mode)
        {
            // Set for the other mode, the value would be ignored; empty (null in JSON), it says nothing.
            if (IsSet(setting))
            {
                var role = mode == SiloMode.Silo ? "a silo" : "a client";
                var modeKey = $"{setting.Path[..^(setting.Key.Length + 1)]}:{nameof(RateLimitSiloOptions.Mode)}";
                problems.Add(Invalid(setting, $"applies to {role} only; remove it, or set {modeKey} to {mode}"));
            }

            return;
        }

        switch (key)
        {
            case "MODE": break;
            case "CLUSTERID": options.ClusterId = setting.Value ?? ""; break;
            case "SERVICEID": options.ServiceId = setting.Value ?? ""; break;
            case "CLUSTERING": options.Clustering = Enum(setting, problems, options.Clustering); break;
            case "REDIS": options.Redis = Optional(setting); break;
            case "GATEWAYPORT": options.GatewayPort = Number(setting, problems, options.GatewayPort); break;
            case "GATEWAYLISTREFRESHPERIOD": options.GatewayListRefreshPeriod = Duration(setting, problems, options.GatewayListRefreshPeriod); break;
            case "STORAGE": options.Storage = Enum(setting, problems, options.Storage); break;
            case "SILOPORT": options.SiloPort = Number(setting, problems, options.SiloPort); break;
            case "PRIMARYSILOPORT": options.PrimarySiloPort = Optional(setting) is null ? null : OptionalNumber(setting, problems); break;
            case "ADVERTISEDADDRESS": options.AdvertisedAddress = setting.Value ?? ""; break;
            case "GRAINS": Section(setting, "MaxFlushInterval", problems, child => Grain(options.Grains, child, problems)); break;
            case "MEMBERSHIP": Section(setting, "ProbeTimeout", problems, child => Membership(options.Membership, child, problems)); break;
            default: problems.Add(Invalid(setting, "is not a rate-limit silo option")); break;
        }
    }

    /// <summary>The only mode a key applies to; <see langword="null"/> for keys of both modes (and unknown keys).</summary>
    private static SiloMode? ModeOf(string key) => key switch
    {
        "STORAGE" or "SILOPORT" or "PRIMARYSILOPORT" or "ADVERTISEDADDRESS" or "GRAINS" or "MEMBERSHIP" => SiloMode.Silo,
        "GATEWAYLISTREFRESHPERIOD" => SiloMode.Client,
        _ => null,
    };

    private static void Grain(RateLimitGrainOptions grains, IConfigurationSection setting, List<string> problems)
    {
        switch (setting.Key.ToUpperInvariant())
        {
            case "REDISCONNECTIONSTRING": grains.RedisConnectionString = Optional(setting); break;
            case "PERSISTENCETHRESHOLD": grains.PersistenceThreshold = Duration(setting, problems, grains.PersistenceThreshold); break;
            case "MINFLUSHINTERVAL": grains.MinFlushInterval = Duration(setting, problems, grains.MinFlushInterval); break;
            case "MAXFLUSHINTERVAL": grains.MaxFlushInterval = Duration(setting, problems, grains.MaxFlushInterval); break;
            case "EXPIRYGRACE": grains.ExpiryGrace = Duration(setting, problems, grains.ExpiryGrace); break;
            case "STORAGETIMEOUT": grains.StorageTimeout = Duration(setting, problems, grains.StorageTimeout); break;
            default: problems.Add(Invalid(setting, $"is not a grain option; use {GrainOptions}")); break;
        }
    }

    private static void Membership(SiloMembershipOptions membership, IConfigurationSection setting, List<string> problems)
    {
        switch (setting.Key.ToUpperInvariant())
        {
            case "PROBETIMEOUT": membership.ProbeTimeout = Duration(setting, problems, membership.ProbeTimeout); break;
            case "NUMMISSEDPROBESLIMIT": membership.NumMissedProbesLimit = Number(setting, problems, membership.NumMissedProbesLimit); break;
            case "NUMVOTESFORDEATHDECLARATION": membership.NumVotesForDeathDeclaration = Number(setting, problems, membership.NumVotesForDeathDeclaration); break;
            case "DEATHVOTEEXPIRATIONTIMEOUT": membership.DeathVoteExpirationTimeout = Duration(setting, problems, membership.DeathVoteExpirationTimeout); break;
            case "TABLEREFRESHTIMEOUT": membership.TableRefreshTimeout = Duration(setting, problems, membership.TableRefreshTimeout); break;
            default: problems.Add(Invalid(setting, $"is not a membership option; use {MembershipOptions}")); break;
        }
    }

    private static void Section(IConfigurationSection section, string exampleKey, List<string> problems, Action<IConfigurationSection> apply)
    {
        if (!string.IsNullOrEmpty(section.Value))
        {
            problems.Add(Invalid(section, $"is a section; set its keys instead, e.g. {section.Path}:{exampleKey}"));
            return;
        }

        foreach (var child in section.GetChildren())
        {
            apply(child);
        }
    }

    private static TEnum Enum<TEnum>(IConfigurationSection setting, List<string> problems, TEnum current)
        where TEnum : struct, Enum
    {
        var value = setting.Value ?? "";
        if (!value.AsSpan().ContainsAnyInRange('0', '9') && System.Enum.TryParse<TEnum>(value, ignoreCase: true, out var parsed))
        {
            return parsed;
        }

        problems.Add(Invalid(setting, $"is not one of {string.Join(", ", System.Enum.GetNames<TEnum>())}"));
        return current;
    }

    private static int Number(IConfigurationSection setting, List<string> problems, int current) => OptionalNumber(setting, problems) ?? current;

    private static int? OptionalNumber(IConfigurationSection setting, List<string> problems)
    {
        if (int.TryParse(setting.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        problems.Add(Invalid(setting, "is not a whole number"));
        return null;
    }

    private static TimeSpan Duration(IConfigurationSection setting, List<string> problems, TimeSpan current)
    {
        if (TimeSpan.TryParse(setting.Value, CultureInfo.InvariantCulture, out var duration))
        {
            return duration;
        }

        problems.Add(Invalid(setting, "is not a duration; use hh:mm:ss.fff, e.g. 00:00:01"));
        return current;
    }

    private static string? Optional(IConfigurationSection setting) => string.IsNullOrWhiteSpace(setting.Value) ? null : setting.Value;

    private static bool IsSet(IConfigurationSection setting) =>
        !string.IsNullOrEmpty(setting.Value) || setting.GetChildren().Any(IsSet);

    private static bool Is(IConfigurationSection setting, string key) => string.Equals(setting.Key, key, StringComparison.OrdinalIgnoreCase);

    private static string Invalid(IConfigurationSection setting, string problem)
    {
        var value = setting.Value is { } v ? $" '{(v.Length > 100 ? v[..100] + "…" : v)}'" : "";
        return $"Configuration value {setting.Path}{value} {problem}.";
    }
}
