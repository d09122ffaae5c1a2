using System.Diagnostics;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// Measures how long work queued to this process's thread pool waits before it runs, from a thread of its own, every 20 ms.
/// Long waits mean every request of an in-test node waits too, whatever the limiter does: the figure that tells a slow
/// limiter from a starved process.
/// </summary>
internal sealed class ThreadPoolMonitor : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan Reported = TimeSpan.FromMilliseconds(50);

    private readonly Stopwatch _clock;
    private readonly Thread _thread;
    private readonly Lock _gate = new();
    private readonly List<(TimeSpan At, TimeSpan Wait, int Threads, long Pending, TimeSpan GcPause)> _stalls = [];
    private volatile bool _stopped;

    public ThreadPoolMonitor(Stopwatch clock)
    {
        _clock = clock;
        _thread = new Thread(Run) { IsBackground = true, Name = "thread pool monitor" };
        _thread.Start();
    }

    public TimeSpan LongestWait { get; private set; }

    /// <summary>The waits longer than 50 ms: when, how long, and how many pool threads there were.</summary>
    public string DescribeStalls(int max = 10)
    {
        lock (_gate)
        {
            return $"thread pool: longest queue wait {LoadReport.Ms(LongestWait)}; waits over {Reported.TotalMilliseconds:0} ms: {_stalls.Count}" +
                string.Concat(_stalls.Take(max).Select(s =>
                    $"{Environment.NewLine}  {s.At.TotalSeconds:0.000}s waited {LoadReport.Ms(s.Wait)} ({s.Threads} threads, {s.Pending} work items queued, GC pauses meanwhile {LoadReport.Ms(s.GcPause)})"));
        }
    }

    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
    }

    private void Run()
    {
        using var ran = new ManualResetEventSlim();
        while (!_stopped)
        {
            ran.Reset();
            var queuedAt = _clock.Elapsed;
            var gcPausesBefore = GC.GetTotalPauseDuration();
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Set(), ran, preferLocal: false);
            var pending = ThreadPool.PendingWorkItemCount;
            ran.Wait();
            var wait = _clock.Elapsed - queuedAt;
            var gcPause = GC.GetTotalPauseDuration() - gcPausesBefore;
            lock (_gate)
            {
                LongestWait = wait > LongestWait ? wait : LongestWait;
                if (wait > Reported)
                {
                    _stalls.Add((queuedAt, wait, ThreadPool.ThreadCount, pending, gcPause));
                }
            }

            Thread.Sleep(Interval);
        }
    }
}
