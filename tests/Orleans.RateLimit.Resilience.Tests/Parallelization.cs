// These tests measure latencies of real processes on a small machine: one at a time, so that they measure the limiter and
// not each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
