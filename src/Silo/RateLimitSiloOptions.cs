using System.Net;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// Options of a rate-limit silo configured from <c>appsettings.json</c> and environment variables
/// (section <see cref="SectionName"/>, e.g. <c>RateLimitSilo__Clustering=Redis</c>).
/// </summary>
public sealed class RateLimitSiloOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "RateLimitSilo";

    /// <summary>The cluster id; every silo and client of one cluster uses the same. Default <c>orleans-ratelimit</c>.</summary>
    public string ClusterId { get; set; } = "orleans-ratelimit";

    /// <summary>The service id; it also prefixes the Redis keys of window state. Default <c>orleans-ratelimit</c>.</summary>
    public string ServiceId { get; set; } = "orleans-ratelimit";

    /// <summary>How silos find each other. Default <see cref="SiloClustering.Localhost"/>.</summary>
    public SiloClustering Clustering { get; set; } = SiloClustering.Localhost;

    /// <summary>Where window state lives. Default <see cref="SiloStorage.Memory"/>.</summary>
    public SiloStorage Storage { get; set; } = SiloStorage.Memory;

    /// <summary>The Redis connection string for Redis clustering and Redis storage (<c>host:port[,password=…]</c>).</summary>
    public string? Redis { get; set; }

    /// <summary>The port silos talk to each other on. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port Orleans clients (web apps in client mode) connect to. Default 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>With localhost clustering, the silo port of the primary silo; unset on the primary itself.</summary>
    public int? PrimarySiloPort { get; set; }

    /// <summary>With Redis clustering, the address this silo advertises and listens on. Default 127.0.0.1.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Options of the rate-limit grains (flush intervals, collection age); <c>RedisConnectionString</c> defaults to <see cref="Redis"/> when storage is Redis.</summary>
    public RateLimitGrainOptions Grains { get; set; } = new();

    /// <summary>Every problem with these options, each naming its configuration key; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        RequireText(errors, nameof(ClusterId), ClusterId);
        RequireText(errors, nameof(ServiceId), ServiceId);
        RequirePort(errors, nameof(SiloPort), SiloPort);
        RequirePort(errors, nameof(GatewayPort), GatewayPort);
        if (PrimarySiloPort is { } primary)
        {
            RequirePort(errors, nameof(PrimarySiloPort), primary);
        }

        if (SiloPort == GatewayPort)
        {
            errors.Add($"{SectionName}:{nameof(SiloPort)} and {SectionName}:{nameof(GatewayPort)} are both {SiloPort}; they must differ.");
        }

        if (!Enum.IsDefined(Clustering))
        {
            errors.Add($"{SectionName}:{nameof(Clustering)} '{Clustering}' is not one of {string.Join(", ", Enum.GetNames<SiloClustering>())}.");
        }

        if (!Enum.IsDefined(Storage))
        {
            errors.Add($"{SectionName}:{nameof(Storage)} '{Storage}' is not one of {string.Join(", ", Enum.GetNames<SiloStorage>())}.");
        }

        if (string.IsNullOrWhiteSpace(Redis))
        {
            if (Clustering == SiloClustering.Redis)
            {
                errors.Add($"{SectionName}:{nameof(Redis)} is required when {SectionName}:{nameof(Clustering)} is Redis.");
            }

            if (Storage == SiloStorage.Redis && string.IsNullOrWhiteSpace(Grains.RedisConnectionString))
            {
                errors.Add($"{SectionName}:{nameof(Redis)} is required when {SectionName}:{nameof(Storage)} is Redis.");
            }
        }

        if (Clustering == SiloClustering.Redis && !IPAddress.TryParse(AdvertisedAddress, out _))
        {
            errors.Add($"{SectionName}:{nameof(AdvertisedAddress)} '{AdvertisedAddress}' is not an IP address.");
        }

        errors.AddRange(GrainOptions().Validate().Select(error => $"{SectionName}:Grains: {error}"));
        return errors;
    }

    /// <summary>The grain options to use: <see cref="Grains"/>, with Redis storage filled in or removed as <see cref="Storage"/> says.</summary>
    internal RateLimitGrainOptions GrainOptions()
    {
        var grains = new RateLimitGrainOptions();
        Grains.CopyTo(grains);
        grains.RedisConnectionString = Storage == SiloStorage.Redis ? Grains.RedisConnectionString ?? Redis : null;
        return grains;
    }

    private static void RequireText(List<string> errors, string name, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{SectionName}:{name} is required.");
        }
    }

    private static void RequirePort(List<string> errors, string name, int port)
    {
        if (port is < 1 or > 65535)
        {
            errors.Add($"{SectionName}:{name} {port} is not a port (1–65535).");
        }
    }
}
