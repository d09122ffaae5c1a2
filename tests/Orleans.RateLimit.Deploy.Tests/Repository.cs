namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>Files of this repository, found from the test assembly's directory upwards.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relativePath) => Path.Combine(Root, relativePath);

    public static string Read(string relativePath) => File.ReadAllText(PathOf(relativePath));

    /// <summary>Every .yaml and .yml file under <paramref name="directory"/>, as paths relative to the root with '/'.</summary>
    public static List<string> YamlFiles(string directory) =>
        Directory.EnumerateFiles(PathOf(directory), "*", SearchOption.AllDirectories)
            .Where(path => path.EndsWith(".yaml", StringComparison.Ordinal) || path.EndsWith(".yml", StringComparison.Ordinal))
            .Select(path => Path.GetRelativePath(Root, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Orleans.RateLimit.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Orleans.RateLimit.sln in {AppContext.BaseDirectory} or any directory above it.");
    }
}
