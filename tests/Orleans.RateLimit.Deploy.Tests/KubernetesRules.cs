using static Orleans.RateLimit.Deploy.Tests.Yaml;

namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>One YAML document of a manifest file: the file's path, the document's index in it (from 0), its tree.</summary>
internal sealed record ManifestDocument(string File, int Index, object? Tree);

/// <summary>
/// What the Kubernetes manifests of this repository must say: every object is named; every image is pinned (no latest,
/// no missing tag) and every override of the kustomization applies to some container; every workload container has
/// readiness and liveness probes and CPU and memory requests; every Deployment has a PodDisruptionBudget; every Service
/// selects pods; Redis keeps its data (AOF every second on a persistent volume); silos are probed on their silo port 11111,
/// web nodes on /healthz and run as Orleans clients.
/// </summary>
internal static class KubernetesRules
{
    private const int SiloPort = 11111;
    private const string RedisDataDirectory = "/data";

    /// <summary>Every problem of <paramref name="documents"/>, in file order; empty when there is none.</summary>
    public static List<string> Check(IReadOnlyList<ManifestDocument> documents)
    {
        var problems = new List<string>();
        var objects = new List<(string Kind, string Name, object? Tree)>();
        foreach (var document in documents)
        {
            if (document.Tree is null)
            {
                continue;
            }

            var where = $"{document.File} document {document.Index}";
            var kind = Str(At(document.Tree, "kind"));
            if (Str(At(document.Tree, "apiVersion")) is null)
            {
                problems.Add($"{where}: no apiVersion");
            }

            if (kind is null)
            {
                problems.Add($"{where}: no kind");
            }

            var name = Str(At(document.Tree, "metadata", "name"));
            if (name is null && kind != "Kustomization")
            {
                problems.Add($"{where}: no metadata.name");
            }

            objects.Add((kind ?? "?", name ?? where, document.Tree));
        }

        var workloads = objects.Where(o => o.Kind is "Deployment" or "StatefulSet" or "DaemonSet").ToList();
        var usedImages = new HashSet<string>(StringComparer.Ordinal);
        var redisFound = false;
        foreach (var (kind, name, tree) in workloads)
        {
            var pod = At(tree, "spec", "template", "spec");
            foreach (var container in Seq(At(pod, "initContainers")).Concat(Seq(At(pod, "containers"))))
            {
                var where = $"{kind}/{name} container {Str(At(container, "name"))}";
                var image = Str(At(container, "image"));
                if (image is null)
                {
                    problems.Add($"{where}: no image");
                    continue;
                }

                usedImages.Add(Images.Name(image));
                if (Images.TagProblem(image) is { } tagProblem)
                {
                    problems.Add($"{where}: image '{image}' {tagProblem}");
                }
            }

            foreach (var container in Seq(At(pod, "containers")))
            {
                var where = $"{kind}/{name} container {Str(At(container, "name"))}";
                CheckContainer(problems, where, container);
                var imageName = Images.Name(Str(At(container, "image")) ?? string.Empty);
                if (imageName is "redis" || imageName.EndsWith("/redis", StringComparison.Ordinal))
                {
                    redisFound = true;
                    CheckRedis(problems, where, container, tree);
                }
                else if (imageName.EndsWith("orleans-ratelimit-silo", StringComparison.Ordinal))
                {
                    CheckProbes(problems, where, container, probe => TcpPort(container, probe) == SiloPort, $"a TCP probe of port {SiloPort}");
                }
                else if (imageName.EndsWith("orleans-ratelimit-webapp", StringComparison.Ordinal))
                {
                    CheckWeb(problems, where, container);
                }
            }

            if (kind == "Deployment" && !objects.Any(o => o.Kind == "PodDisruptionBudget" && Selects(At(o.Tree, "spec", "selector", "matchLabels"), tree)))
            {
                problems.Add($"Deployment/{name}: no PodDisruptionBudget selects its pods");
            }
        }

        if (!redisFound)
        {
            problems.Add("no Redis workload");
        }

        foreach (var (_, name, tree) in objects.Where(o => o.Kind == "Service"))
        {
            if (!workloads.Any(w => Selects(At(tree, "spec", "selector"), w.Tree)))
            {
                problems.Add($"Service/{name}: selects no pods");
            }
        }

        foreach (var document in documents.Where(d => Str(At(d.Tree, "kind")) == "Kustomization"))
        {
            CheckKustomization(problems, document, documents, usedImages);
        }

        return problems;
    }

    private static void CheckContainer(List<string> problems, string where, object? container)
    {
        foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
        {
            if (At(container, probe) is null)
            {
                problems.Add($"{where}: no {probe}");
            }
        }

        foreach (var resource in new[] { "cpu", "memory" })
        {
            if (Str(At(container, "resources", "requests", resource)) is null)
            {
                problems.Add($"{where}: no resources.requests.{resource}");
            }
        }
    }

    private static void CheckProbes(List<string> problems, string where, object? container, Func<object?, bool> isRight, string expected)
    {
        foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
        {
            if (At(container, probe) is { } node && !isRight(node))
            {
                problems.Add($"{where}: {probe} is not {expected}");
            }
        }
    }

    private static void CheckWeb(List<string> problems, string where, object? container)
    {
        CheckProbes(problems, where, container, probe => Str(At(probe, "httpGet", "path")) == "/healthz", "an HTTP GET of /healthz");
        var environment = Seq(At(container, "env"))
            .Where(entry => Str(At(entry, "name")) is not null)
            .ToDictionary(entry => Str(At(entry, "name"))!, entry => Str(At(entry, "value")), StringComparer.Ordinal);
        foreach (var (key, expected) in new[] { ("RateLimitSilo__Mode", "Client"), ("RateLimitSilo__Clustering", "Redis") })
        {
            var actual = environment.GetValueOrDefault(key);
            if (actual != expected)
            {
                problems.Add($"{where}: {key} is {(actual is null ? "not set" : $"'{actual}'")}, expected '{expected}'");
            }
        }
    }

    private static void CheckRedis(List<string> problems, string where, object? container, object? workload)
    {
        List<string> arguments = [.. Seq(At(container, "command")).Concat(Seq(At(container, "args"))).Select(a => Str(a) ?? string.Empty)];
        if (ComposeRules.ValueAfter(arguments, "--appendonly") != "yes")
        {
            problems.Add($"{where}: appendonly is not turned on (--appendonly yes)");
        }

        if (ComposeRules.ValueAfter(arguments, "--appendfsync") != "everysec")
        {
            problems.Add($"{where}: appendfsync is not everysec (--appendfsync everysec)");
        }

        var directory = ComposeRules.ValueAfter(arguments, "--dir") ?? RedisDataDirectory;
        var mount = Seq(At(container, "volumeMounts")).FirstOrDefault(m => Str(At(m, "mountPath")) == directory);
        var claims = Seq(At(workload, "spec", "volumeClaimTemplates")).Select(c => Str(At(c, "metadata", "name")));
        var persistentVolumes = Seq(At(workload, "spec", "template", "spec", "volumes"))
            .Where(v => At(v, "persistentVolumeClaim") is not null)
            .Select(v => Str(At(v, "name")));
        if (mount is null || !claims.Concat(persistentVolumes).Contains(Str(At(mount, "name"))))
        {
            problems.Add($"{where}: no persistent volume at its data directory {directory}");
        }
    }

    private static void CheckKustomization(List<string> problems, ManifestDocument kustomization, IReadOnlyList<ManifestDocument> documents, HashSet<string> usedImages)
    {
        var directory = kustomization.File[..(kustomization.File.LastIndexOf('/') + 1)];
        var resources = Seq(At(kustomization.Tree, "resources")).Select(r => directory + Str(r)).ToHashSet(StringComparer.Ordinal);
        var files = documents.Select(d => d.File).Where(f => f != kustomization.File && f.StartsWith(directory, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        foreach (var missing in resources.Where(r => !files.Contains(r)).Order(StringComparer.Ordinal))
        {
            problems.Add($"{kustomization.File}: resource {missing} does not exist");
        }

        foreach (var unlisted in files.Where(f => !resources.Contains(f)).Order(StringComparer.Ordinal))
        {
            problems.Add($"{kustomization.File}: {unlisted} is not among its resources");
        }

        foreach (var image in Seq(At(kustomization.Tree, "images")))
        {
            var name = Str(At(image, "name"));
            var tag = Str(At(image, "newTag"));
            if (name is null || !usedImages.Contains(name))
            {
                problems.Add($"{kustomization.File}: image '{name}' is used by no container");
            }

            if (tag is null && Str(At(image, "digest")) is null)
            {
                problems.Add($"{kustomization.File}: image '{name}' has no newTag");
            }
            else if (tag == "latest")
            {
                problems.Add($"{kustomization.File}: image '{name}' uses the tag latest");
            }
        }
    }

    private static int? TcpPort(object? container, object? probe)
    {
        var port = Str(At(probe, "tcpSocket", "port"));
        if (port is null)
        {
            return null;
        }

        if (int.TryParse(port, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        var named = Seq(At(container, "ports")).FirstOrDefault(p => Str(At(p, "name")) == port);
        return int.TryParse(Str(At(named, "containerPort")), System.Globalization.CultureInfo.InvariantCulture, out number) ? number : null;
    }

    /// <summary>Whether every label of <paramref name="selector"/> is on the pods of <paramref name="workload"/>.</summary>
    private static bool Selects(object? selector, object? workload)
    {
        var labels = Map(At(workload, "spec", "template", "metadata", "labels"));
        return Map(selector) is { Count: > 0 } wanted && labels is not null
            && wanted.All(label => labels.TryGetValue(label.Key, out var value) && Equals(value, label.Value));
    }
}
