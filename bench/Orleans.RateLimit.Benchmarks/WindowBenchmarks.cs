using BenchmarkDotNet.Attributes;

namespace Orleans.RateLimit.Benchmarks;

/// <summary>
/// One hit on each pure window type, with a clock that advances by <see cref="StepTicks"/> (5 µs) per call, so windows roll
/// and age out as they would under a steady 200,000 hits per second on one window. The limit (1,000,000 per second) admits
/// every hit; hits 5 µs apart share runs of 1 ms (a thousandth of the period), so the moving window holds about 1,000 runs.
/// </summary>
[Config(typeof(MicroBenchmarkConfig))]
public class WindowBenchmarks
{
    private const long StepTicks = 50; // 5 µs
    private static readonly long StartTicks = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;

    private FixedWindow _fixed = null!;
    private MovingWindow _moving = null!;
    private SlidingWindowCounter _sliding = null!;
    private SlidingWindowCounter _slidingForTest = null!;
    private long _fixedTicks;
    private long _movingTicks;
    private long _slidingTicks;
    private long _testTicks;

    [GlobalSetup]
    public void Setup()
    {
        var perSecond = RateLimitItem.Parse("1000000/second");
        _fixed = new FixedWindow(perSecond);
        _moving = new MovingWindow(perSecond);
        _sliding = new SlidingWindowCounter(perSecond);
        _fixedTicks = _movingTicks = _slidingTicks = StartTicks;

        // Test never changes state, so its window is filled first: 500,000 hits spread over the first half of an hour-long
        // period, after which Test runs at the same 5 µs step (into the second half, then the next period).
        _slidingForTest = new SlidingWindowCounter(RateLimitItem.Parse("1000000000/hour"));
        _testTicks = StartTicks;
        for (var i = 0; i < 500_000; i++)
        {
            _testTicks += TimeSpan.TicksPerHour / 2 / 500_000;
            _slidingForTest.Hit(At(_testTicks));
        }
    }

    [Benchmark(Baseline = true, Description = "FixedWindow.Hit")]
    public bool FixedWindowHit()
    {
        _fixedTicks += StepTicks;
        return _fixed.Hit(At(_fixedTicks));
    }

    [Benchmark(Description = "MovingWindow.Hit")]
    public bool MovingWindowHit()
    {
        _movingTicks += StepTicks;
        return _moving.Hit(At(_movingTicks));
    }

    [Benchmark(Description = "SlidingWindowCounter.Hit")]
    public bool SlidingWindowCounterHit()
    {
        _slidingTicks += StepTicks;
        return _sliding.Hit(At(_slidingTicks));
    }

    [Benchmark(Description = "SlidingWindowCounter.Test")]
    public bool SlidingWindowCounterTest()
    {
        _testTicks += StepTicks;
        return _slidingForTest.Test(At(_testTicks));
    }

    private static DateTimeOffset At(long ticks) => new(ticks, TimeSpan.Zero);
}
