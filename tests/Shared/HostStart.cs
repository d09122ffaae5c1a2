using Microsoft.Extensions.Hosting;

namespace Orleans.RateLimit.Testing;

/// <summary>Starting a host in a test: one that fails to start is disposed, so that its ports and threads go with it.</summary>
internal static class HostStart
{
    public static async Task<THost> StartOrDisposeAsync<THost>(this THost host)
        where THost : IHost
    {
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }
}
