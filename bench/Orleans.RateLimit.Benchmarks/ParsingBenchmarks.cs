using BenchmarkDotNet.Attributes;

namespace Orleans.RateLimit.Benchmarks;

/// <summary>Parsing the rate-limit notation: one limit, and a list of three.</summary>
[Config(typeof(MicroBenchmarkConfig))]
public class ParsingBenchmarks
{
    private readonly string _single = "10/minute";
    private readonly string _list = "1/second;100/hour;1000/day";

    [Benchmark(Baseline = true, Description = "Parse(\"10/minute\")")]
    public RateLimitItem Parse() => RateLimitItem.Parse(_single);

    [Benchmark(Description = "ParseMany(\"1/second;100/hour;1000/day\")")]
    public IReadOnlyList<RateLimitItem> ParseMany() => RateLimitItem.ParseMany(_list);
}
