using static Orleans.RateLimit.Deploy.Tests.Yaml;

namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>The YAML files under deploy/, parsed anew for every caller, so that a test may change its copy.</summary>
internal static class DeployFiles
{
    public const string ComposeFile = "deploy/docker/compose.yaml";
    public const string KubernetesDirectory = "deploy/kubernetes";

    public static object? Compose() => Documents(Repository.Read(ComposeFile)).Single();

    public static List<ManifestDocument> Manifests() =>
        Repository.YamlFiles(KubernetesDirectory)
            .SelectMany(file => Documents(Repository.Read(file)).Select((tree, index) => new ManifestDocument(file, index, tree)))
            .ToList();

    /// <summary>The object of <paramref name="kind"/> named <paramref name="name"/> in <paramref name="manifests"/>.</summary>
    public static object? Find(List<ManifestDocument> manifests, string kind, string name) =>
        manifests.Single(d => Str(At(d.Tree, "kind")) == kind && Str(At(d.Tree, "metadata", "name")) == name).Tree;
}
