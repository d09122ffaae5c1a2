namespace Orleans.RateLimit.Grains;

/// <summary>A storage write that timed out but may still land: the task, the state object it updates, and what it wrote.</summary>
internal sealed record PendingWrite(Task Task, GrainState<WindowGrainState> State, IReadOnlyList<WindowBucket> Buckets);
