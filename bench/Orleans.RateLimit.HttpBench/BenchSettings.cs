using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Orleans.RateLimit.HttpBench;

/// <summary>The command line of the bench server.</summary>
internal sealed record BenchSettings(
    string Mode, int Port, long Permit, int SiloPort, int GatewayPort, TimeSpan? GrainCallTimeout, string? Redis)
{
    /// <summary>The header that names the client.</summary>
    public const string ClientHeader = "X-Client";

    public static BenchSettings From(IConfiguration configuration)
    {
        var mode = configuration["mode"] ?? "none";
        var port = configuration.GetValue("port", 5090);
        var permit = configuration.GetValue("permit", 1_000_000_000L);
        var siloPort = configuration.GetValue("silo-port", 0);
        var gatewayPort = configuration.GetValue("gateway-port", 0);

        // The limiter's default (50 ms) unless given: the bench measures what a user runs.
        var grainCallTimeout = configuration["grain-call-timeout-ms"] is { } milliseconds
            ? TimeSpan.FromMilliseconds(int.Parse(milliseconds, CultureInfo.InvariantCulture))
            : (TimeSpan?)null;
        return new BenchSettings(
            mode,
            port,
            permit,
            siloPort > 0 ? siloPort : FreeLoopbackPort(),
            gatewayPort > 0 ? gatewayPort : FreeLoopbackPort(),
            grainCallTimeout,
            configuration["redis"]);
    }

    /// <summary>The permit in rate-limit notation for one window, e.g. <c>1000000000/second</c>.</summary>
    public string Limit(string granularity) => $"{Permit.ToString(CultureInfo.InvariantCulture)}/{granularity}";

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
