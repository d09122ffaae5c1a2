using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace Orleans.RateLimit.Benchmarks;

/// <summary>
/// A short job for pure, single-threaded code that needs no warm-up beyond BenchmarkDotNet's own:
/// one process, 3 warm-up and 10 measured iterations.
/// </summary>
public class MicroBenchmarkConfig : ManualConfig
{
    public MicroBenchmarkConfig()
    {
        AddJob(Job.Default
            .WithId("Micro")
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(10));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.Median);
    }
}

/// <summary>
/// The job for grain calls. Each launch is a fresh process that starts its own silo and warms it up for a few seconds in
/// the global setup (JIT tiering and thread-pool ramp-up take seconds, not a few thousand calls); three launches per case,
/// because sequential calls through the thread pool of a 2-core machine are bimodal from one process to the next.
/// Workstation GC (the .NET default, and what the project's console silo host runs with); add <c>.WithGcServer(true)</c>
/// to measure with server GC instead.
/// </summary>
public class GrainBenchmarkConfig : ManualConfig
{
    public GrainBenchmarkConfig()
    {
        AddJob(Job.Default
            .WithId("Grain")
            .WithLaunchCount(3)
            .WithWarmupCount(3)
            .WithIterationCount(6)
            .WithUnrollFactor(1));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.Max);
    }
}
