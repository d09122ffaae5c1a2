namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>Where the programs the tests run as processes were built: next to this test assembly's own output, by configuration.</summary>
internal static class BuildOutput
{
    public const string SiloHostAssembly = "Orleans.RateLimit.Silo.Host";

    public const string WebAppAssembly = "Orleans.RateLimit.Samples.WebApp";

    /// <summary>src/Silo/Host/bin/{Configuration}/{framework}.</summary>
    public static string SiloHostDirectory => Directory("src", "Silo", "Host");

    /// <summary>samples/WebApp/bin/{Configuration}/{framework}.</summary>
    public static string WebAppDirectory => Directory("samples", "WebApp");

    private static string Directory(params string[] project)
    {
        // tests/Orleans.RateLimit.Resilience.Tests/bin/{Configuration}/{framework}
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = output.Name;
        var configuration = output.Parent!.Name;
        var repository = output.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine([repository, .. project, "bin", configuration, framework]);
    }
}
