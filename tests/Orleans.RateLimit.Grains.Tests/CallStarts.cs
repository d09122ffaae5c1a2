using Microsoft.Extensions.DependencyInjection;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>Tells when a grain method starts running on a silo (not merely when it was sent), by an incoming call filter.</summary>
public sealed class CallStarts : IIncomingGrainCallFilter
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TaskCompletionSource> _started = [];

    /// <summary>Adds this filter to one silo's services.</summary>
    public void AddTo(IServiceCollection services) => services.AddSingleton<IIncomingGrainCallFilter>(this);

    /// <summary>Completes once a call of <paramref name="method"/> started running; fails after <paramref name="timeout"/>.</summary>
    public Task Started(string method, TimeSpan timeout) => Signal(method).Task.WaitAsync(timeout);

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.Name is { } method)
        {
            Signal(method).TrySetResult();
        }

        return context.Invoke();
    }

    private TaskCompletionSource Signal(string method)
    {
        lock (_lock)
        {
            if (!_started.TryGetValue(method, out var signal))
            {
                signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _started[method] = signal;
            }

            return signal;
        }
    }
}
