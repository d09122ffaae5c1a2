using System.Net;
using System.Net.Sockets;

namespace Orleans.RateLimit.Resilience.Tests.Infrastructure;

/// <summary>Bounded polling for conditions that real processes reach in their own time.</summary>
internal static class Wait
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string>? diagnostics = null)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            if (cancellation.IsCancellationRequested)
            {
                throw new TimeoutException($"Gave up waiting {timeout.TotalSeconds:0.#} s for {what}.{Environment.NewLine}{diagnostics?.Invoke()}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Until something accepts TCP connections on 127.0.0.1:<paramref name="port"/>, or <paramref name="process"/> exits.</summary>
    public static Task ForPortAsync(int port, NodeProcess process, TimeSpan timeout) =>
        UntilAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"{process.Name} exited before listening on port {port}.{Environment.NewLine}{process.RecentOutput()}");
                }

                try
                {
                    using var socket = new TcpClient();
                    await socket.ConnectAsync(IPAddress.Loopback, port);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            },
            timeout,
            $"{process.Name} to listen on port {port}",
            process.RecentOutput);
}
