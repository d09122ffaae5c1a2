namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// A periodic sweep on the <see cref="TimeProvider"/> that holds its target only weakly: a target nobody disposes can still
/// be collected, and its timer with it.
/// </summary>
internal static class WeakSweepTimer
{
    public static ITimer Start<T>(TimeProvider time, T target, TimeSpan interval, Action<T> sweep)
        where T : class
    {
        var weakTarget = new WeakReference<T>(target);
        return time.CreateTimer(
            _ =>
            {
                if (weakTarget.TryGetTarget(out var alive))
                {
                    sweep(alive);
                }
            },
            null,
            interval,
            interval);
    }
}
