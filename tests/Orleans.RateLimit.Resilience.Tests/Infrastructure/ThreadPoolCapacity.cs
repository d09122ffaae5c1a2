namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>
/// Gives the test process the thread pool a web node would have. The xunit VSTest adapter blocks one pool thread for the
/// whole run (VsTestRunner.RunTestsInAssembly waits on a handle), and this process also runs the load generator. With the
/// default minimum of one thread per core (2 here), one slow work item then held every request queued behind it until the
/// pool's starvation detection added a thread, 0.5 to 1 s later (seen as answers of 500-1000 ms that the node itself
/// decided in under a millisecond, while no GC ran).
/// </summary>
internal static class ThreadPoolCapacity
{
    public static void Ensure()
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        var wanted = Environment.ProcessorCount + 2;
        if (workers < wanted)
        {
            ThreadPool.SetMinThreads(wanted, completionPorts);
        }
    }
}
