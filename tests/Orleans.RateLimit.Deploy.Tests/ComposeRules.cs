using System.Globalization;
using static Orleans.RateLimit.Deploy.Tests.Yaml;

namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>
/// What a compose file of this repository must say: every service has an image or a build and a pinned image; Redis keeps
/// its data (AOF every second, a volume on its data directory); the silos use Redis clustering and storage; the web nodes
/// are Orleans clients of the silos with a health check on /healthz; every published port is bound to 127.0.0.1.
/// </summary>
internal static class ComposeRules
{
    private const string RedisDataDirectory = "/data";

    /// <summary>Every problem of the compose document <paramref name="compose"/>, in file order; empty when there is none.</summary>
    public static List<string> Check(object? compose)
    {
        var problems = new List<string>();
        var services = Map(At(compose, "services"));
        if (services is null || services.Count == 0)
        {
            problems.Add("no services");
            return problems;
        }

        var declaredVolumes = Map(At(compose, "volumes"))?.Keys.ToHashSet(StringComparer.Ordinal) ?? [];
        var redisCount = 0;
        var siloCount = 0;
        var webCount = 0;
        foreach (var (name, service) in services)
        {
            var image = Str(At(service, "image"));
            var build = At(service, "build");
            if (image is null && build is null)
            {
                problems.Add($"services.{name}: neither image nor build");
            }

            if (image is not null && Images.TagProblem(image) is { } tagProblem)
            {
                problems.Add($"services.{name}.image '{image}' {tagProblem}");
            }

            CheckPorts(problems, name, service);
            var replicas = int.TryParse(Str(At(service, "deploy", "replicas")), CultureInfo.InvariantCulture, out var count) ? count : 1;
            switch (RoleOf(image, build))
            {
                case Role.Redis:
                    redisCount += replicas;
                    CheckRedis(problems, name, service, declaredVolumes);
                    break;
                case Role.Silo:
                    siloCount += replicas;
                    CheckSilo(problems, name, service, services);
                    break;
                case Role.Web:
                    webCount += replicas;
                    CheckWeb(problems, name, service, services);
                    break;
            }
        }

        if (redisCount == 0)
        {
            problems.Add("no Redis service");
        }

        if (siloCount < 2)
        {
            problems.Add($"2 silos expected, found {siloCount}");
        }

        if (webCount < 2)
        {
            problems.Add($"2 web nodes expected, found {webCount}");
        }

        return problems;
    }

    private enum Role
    {
        Other,
        Redis,
        Silo,
        Web,
    }

    private static Role RoleOf(string? image, object? build)
    {
        var dockerfile = Str(At(build, "dockerfile")) ?? string.Empty;
        var name = image is null ? string.Empty : Images.Name(image);
        if (dockerfile.EndsWith("Dockerfile.silo", StringComparison.Ordinal) || name.EndsWith("orleans-ratelimit-silo", StringComparison.Ordinal))
        {
            return Role.Silo;
        }

        if (dockerfile.EndsWith("Dockerfile.webapp", StringComparison.Ordinal) || name.EndsWith("orleans-ratelimit-webapp", StringComparison.Ordinal))
        {
            return Role.Web;
        }

        return name is "redis" || name.EndsWith("/redis", StringComparison.Ordinal) ? Role.Redis : Role.Other;
    }

    private static void CheckPorts(List<string> problems, string name, object? service)
    {
        var ports = Seq(At(service, "ports"));
        for (var i = 0; i < ports.Count; i++)
        {
            var bound = ports[i] switch
            {
                string text => text.StartsWith("127.0.0.1:", StringComparison.Ordinal),
                Dictionary<string, object?> longSyntax => Str(At(longSyntax, "host_ip")) == "127.0.0.1",
                _ => false,
            };
            if (!bound)
            {
                var shown = ports[i] as string ?? $"target {Str(At(ports[i], "target"))}";
                problems.Add($"services.{name}.ports[{i}] '{shown}' is not bound to 127.0.0.1");
            }
        }
    }

    private static void CheckRedis(List<string> problems, string name, object? service, HashSet<string> declaredVolumes)
    {
        var arguments = Arguments(At(service, "command"));
        if (ValueAfter(arguments, "--appendonly") != "yes")
        {
            problems.Add($"services.{name}: appendonly is not turned on (--appendonly yes)");
        }

        if (ValueAfter(arguments, "--appendfsync") != "everysec")
        {
            problems.Add($"services.{name}: appendfsync is not everysec (--appendfsync everysec)");
        }

        var directory = ValueAfter(arguments, "--dir") ?? RedisDataDirectory;
        var volume = Seq(At(service, "volumes"))
            .Select(entry => entry switch
            {
                string text when text.Split(':') is [var source, var target, ..] => (Source: source, Target: target),
                Dictionary<string, object?> longSyntax => (Source: Str(At(longSyntax, "source")), Target: Str(At(longSyntax, "target"))),
                _ => (Source: null, Target: null),
            })
            .FirstOrDefault(mount => mount.Target == directory);
        if (volume.Source is null)
        {
            problems.Add($"services.{name}: no volume at its data directory {directory}");
        }
        else if (!volume.Source.StartsWith('.') && !volume.Source.StartsWith('/') && !declaredVolumes.Contains(volume.Source))
        {
            problems.Add($"services.{name}: volume '{volume.Source}' is not declared under volumes");
        }
    }

    private static void CheckSilo(List<string> problems, string name, object? service, Dictionary<string, object?> services)
    {
        var environment = EnvironmentOf(At(service, "environment"));
        RequireSetting(problems, name, environment, "RateLimitSilo__Clustering", "Redis");
        RequireSetting(problems, name, environment, "RateLimitSilo__Storage", "Redis");
        RequireRedisService(problems, name, environment, services);
    }

    private static void CheckWeb(List<string> problems, string name, object? service, Dictionary<string, object?> services)
    {
        var environment = EnvironmentOf(At(service, "environment"));
        RequireSetting(problems, name, environment, "RateLimitSilo__Mode", "Client");
        RequireSetting(problems, name, environment, "RateLimitSilo__Clustering", "Redis");
        RequireRedisService(problems, name, environment, services);
        if (Seq(At(service, "ports")).Count == 0)
        {
            problems.Add($"services.{name}: publishes no port");
        }

        var healthcheck = At(service, "healthcheck", "test") switch
        {
            string text => text,
            List<object?> list => string.Join(' ', list.Select(Str)),
            _ => string.Empty,
        };
        if (!healthcheck.Contains("/healthz", StringComparison.Ordinal))
        {
            problems.Add($"services.{name}: no healthcheck on /healthz");
        }
    }

    private static void RequireSetting(List<string> problems, string name, Dictionary<string, string?> environment, string key, string expected)
    {
        var actual = environment.GetValueOrDefault(key);
        if (actual != expected)
        {
            problems.Add($"services.{name}: {key} is {(actual is null ? "not set" : $"'{actual}'")}, expected '{expected}'");
        }
    }

    // The connection string must name a service of this file, or the nodes would look for another cluster.
    private static void RequireRedisService(List<string> problems, string name, Dictionary<string, string?> environment, Dictionary<string, object?> services)
    {
        var redis = environment.GetValueOrDefault("RateLimitSilo__Redis");
        var host = redis?.Split(',')[0].Split(':')[0];
        if (host is null || !services.ContainsKey(host))
        {
            problems.Add($"services.{name}: RateLimitSilo__Redis {(redis is null ? "is not set" : $"'{redis}' names no service of this file")}");
        }
    }

    private static Dictionary<string, string?> EnvironmentOf(object? node) => node switch
    {
        Dictionary<string, object?> map => map.ToDictionary(entry => entry.Key, entry => Str(entry.Value), StringComparer.Ordinal),
        List<object?> list => list.OfType<string>()
            .Select(entry => entry.Split('=', 2))
            .ToDictionary(parts => parts[0], parts => parts.Length == 2 ? parts[1] : null, StringComparer.Ordinal),
        _ => [],
    };

    private static List<string> Arguments(object? command) => command switch
    {
        string text => [.. text.Split(' ', StringSplitOptions.RemoveEmptyEntries)],
        List<object?> list => [.. list.Select(item => Str(item) ?? string.Empty)],
        _ => [],
    };

    /// <summary>The argument after <paramref name="option"/>, or null when it is missing.</summary>
    public static string? ValueAfter(IReadOnlyList<string> arguments, string option)
    {
        for (var i = 0; i < arguments.Count - 1; i++)
        {
            if (arguments[i] == option)
            {
                return arguments[i + 1];
            }
        }

        return null;
    }
}
