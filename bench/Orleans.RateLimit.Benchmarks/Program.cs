using BenchmarkDotNet.Running;

namespace Orleans.RateLimit.Benchmarks;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project bench/Orleans.RateLimit.Benchmarks -- --filter '*'</c>.
/// Any BenchmarkDotNet option may follow <c>--</c> (for example <c>--filter '*Grain*'</c> or <c>--list flat</c>).
/// </summary>
internal static class Program
{
    private static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
