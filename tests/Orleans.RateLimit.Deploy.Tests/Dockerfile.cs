using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>The instructions of a Dockerfile, continuation lines joined, comments dropped.</summary>
internal sealed partial class Dockerfile
{
    private Dockerfile(string path, List<(string Instruction, string Arguments)> instructions)
    {
        Path = path;
        Instructions = instructions;
    }

    public string Path { get; }

    public List<(string Instruction, string Arguments)> Instructions { get; }

    public static Dockerfile Load(string relativePath)
    {
        var text = ContinuationPattern().Replace(Repository.Read(relativePath), " ");
        var instructions = text.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split(' ', 2, StringSplitOptions.TrimEntries))
            .Select(parts => (parts[0].ToUpperInvariant(), parts.Length > 1 ? parts[1] : string.Empty))
            .ToList();
        return new Dockerfile(relativePath, instructions);
    }

    public IEnumerable<string> All(string instruction) =>
        Instructions.Where(i => i.Instruction == instruction).Select(i => i.Arguments);

    /// <summary>The image of every stage: <c>mcr.microsoft.com/dotnet/sdk:10.0</c> for <c>FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build</c>.</summary>
    public List<string> StageImages() => All("FROM").Select(arguments => arguments.Split(' ')[0]).ToList();

    /// <summary>The sources of every COPY from the build context (not from another stage).</summary>
    public List<string> ContextSources() =>
        All("COPY").Where(arguments => !arguments.StartsWith("--from", StringComparison.Ordinal))
            .SelectMany(arguments => arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1])
            .ToList();

    /// <summary>The file name of the assembly that <c>dotnet publish PROJECT_DIRECTORY</c> in a RUN builds.</summary>
    public string PublishedAssembly()
    {
        var directory = All("RUN").Select(run => PublishPattern().Match(run)).Single(match => match.Success).Groups[1].Value;
        var project = Directory.GetFiles(Repository.PathOf(directory), "*.csproj").Single();
        var assemblyName = XDocument.Load(project).Descendants("AssemblyName").SingleOrDefault()?.Value
            ?? System.IO.Path.GetFileNameWithoutExtension(project);
        return assemblyName + ".dll";
    }

    [GeneratedRegex(@"\\\r?\n")]
    private static partial Regex ContinuationPattern();

    [GeneratedRegex(@"dotnet publish (\S+)")]
    private static partial Regex PublishPattern();
}
