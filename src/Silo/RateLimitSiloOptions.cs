using System.Net;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// Options of a rate-limit silo, or of a client of a rate-limit cluster, configured from <c>appsettings.json</c> and
/// environment variables (section <see cref="SectionName"/>, e.g. <c>RateLimitSilo__Clustering=Redis</c>).
/// </summary>
/// <remarks>
/// <see cref="Mode"/> decides which options apply. Both modes: <see cref="ClusterId"/>, <see cref="ServiceId"/>,
/// <see cref="Clustering"/>, <see cref="Redis"/>, <see cref="GatewayPort"/>. Silo only: <see cref="Storage"/>,
/// <see cref="SiloPort"/>, <see cref="PrimarySiloPort"/>, <see cref="AdvertisedAddress"/>, <see cref="Grains"/>,
/// <see cref="Membership"/>. Client only: <see cref="GatewayListRefreshPeriod"/>. In configuration, a key that does not
/// apply to the mode fails the start.
/// </remarks>
public sealed class RateLimitSiloOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "RateLimitSilo";

    /// <summary>Whether this process hosts a silo or is a client of a standalone cluster. Default <see cref="SiloMode.Silo"/>.</summary>
    public SiloMode Mode { get; set; } = SiloMode.Silo;

    /// <summary>The cluster id; every silo and client of one cluster uses the same. Default <c>orleans-ratelimit</c>.</summary>
    public string ClusterId { get; set; } = "orleans-ratelimit";

    /// <summary>The service id; it also prefixes the Redis keys of window state. Default <c>orleans-ratelimit</c>.</summary>
    public string ServiceId { get; set; } = "orleans-ratelimit";

    /// <summary>How silos find each other, and clients find the silos. Default <see cref="SiloClustering.Localhost"/>.</summary>
    public SiloClustering Clustering { get; set; } = SiloClustering.Localhost;

    /// <summary>Silo only: where window state lives. Default <see cref="SiloStorage.Memory"/>.</summary>
    public SiloStorage Storage { get; set; } = SiloStorage.Memory;

    /// <summary>The Redis connection string for Redis clustering and Redis storage (<c>host:port[,password=…]</c>).</summary>
    public string? Redis { get; set; }

    /// <summary>Silo only: the port silos talk to each other on. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>
    /// The port Orleans clients connect to: a silo listens on it; a client with localhost clustering connects to it (with
    /// Redis clustering a client finds the gateways in Redis). Default 30000.
    /// </summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Silo only, with localhost clustering: the silo port of the primary silo; unset on the primary itself.</summary>
    public int? PrimarySiloPort { get; set; }

    /// <summary>Silo only, with Redis clustering: the address this silo advertises and listens on. Default 127.0.0.1.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// Client only: how often the client refreshes its list of gateways, and so how soon it uses a restarted or new silo
    /// again (a gateway whose connection failed is left out until then). Default 5 s (Orleans: 1 min).
    /// </summary>
    public TimeSpan GatewayListRefreshPeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Silo only: options of the rate-limit grains (flush intervals, collection age); <c>RedisConnectionString</c> defaults to <see cref="Redis"/> when storage is Redis.</summary>
    public RateLimitGrainOptions Grains { get; set; } = new();

    /// <summary>Silo only: how fast a crashed silo is declared dead.</summary>
    public SiloMembershipOptions Membership { get; set; } = new();

    /// <summary>Every problem with these options, each naming its configuration key; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate() => Validate(SectionName);

    /// <summary>Every problem with these options, each naming its key in the configuration section <paramref name="section"/>.</summary>
    internal IReadOnlyList<string> Validate(string section)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(Mode))
        {
            errors.Add($"{section}:{nameof(Mode)} '{Mode}' is not one of {string.Join(", ", Enum.GetNames<SiloMode>())}.");
        }

        RequireText(errors, section, nameof(ClusterId), ClusterId);
        RequireText(errors, section, nameof(ServiceId), ServiceId);
        if (!Enum.IsDefined(Clustering))
        {
            errors.Add($"{section}:{nameof(Clustering)} '{Clustering}' is not one of {string.Join(", ", Enum.GetNames<SiloClustering>())}.");
        }

        if (Clustering == SiloClustering.Redis && string.IsNullOrWhiteSpace(Redis))
        {
            errors.Add($"{section}:{nameof(Redis)} is required when {section}:{nameof(Clustering)} is Redis.");
        }

        RequirePort(errors, section, nameof(GatewayPort), GatewayPort);
        if (Mode == SiloMode.Client)
        {
            if (GatewayListRefreshPeriod <= TimeSpan.Zero)
            {
                errors.Add($"{section}:{nameof(GatewayListRefreshPeriod)} must be positive, but is {GatewayListRefreshPeriod}.");
            }

            return errors;
        }

        RequirePort(errors, section, nameof(SiloPort), SiloPort);
        if (PrimarySiloPort is { } primary)
        {
            RequirePort(errors, section, nameof(PrimarySiloPort), primary);
        }

        if (SiloPort == GatewayPort)
        {
            errors.Add($"{section}:{nameof(SiloPort)} and {section}:{nameof(GatewayPort)} are both {SiloPort}; they must differ.");
        }

        if (!Enum.IsDefined(Storage))
        {
            errors.Add($"{section}:{nameof(Storage)} '{Storage}' is not one of {string.Join(", ", Enum.GetNames<SiloStorage>())}.");
        }

        if (Storage == SiloStorage.Redis && string.IsNullOrWhiteSpace(Redis) && string.IsNullOrWhiteSpace(Grains.RedisConnectionString))
        {
            errors.Add($"{section}:{nameof(Redis)} is required when {section}:{nameof(Storage)} is Redis.");
        }

        if (Clustering == SiloClustering.Redis && !IPAddress.TryParse(AdvertisedAddress, out _))
        {
            errors.Add($"{section}:{nameof(AdvertisedAddress)} '{AdvertisedAddress}' is not an IP address.");
        }

        errors.AddRange(GrainOptions().Validate().Select(error => $"{section}:{nameof(Grains)}: {error}"));
        errors.AddRange(Membership.Validate($"{section}:{nameof(Membership)}"));
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

    private static void RequireText(List<string> errors, string section, string name, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{section}:{name} is required.");
        }
    }

    private static void RequirePort(List<string> errors, string section, string name, int port)
    {
        if (port is < 1 or > 65535)
        {
            errors.Add($"{section}:{name} {port} is not a port (1–65535).");
        }
    }
}
