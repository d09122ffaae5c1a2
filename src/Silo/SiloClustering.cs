namespace Orleans.RateLimit.Silo;

/// <summary>How the silos of a standalone rate-limit cluster find each other.</summary>
public enum SiloClustering
{
    /// <summary>Silos on one machine, on loopback; the first names itself primary, the others name it by <see cref="RateLimitSiloOptions.PrimarySiloPort"/>.</summary>
    Localhost = 0,

    /// <summary>Membership in Redis: silos on any machines that reach the same Redis.</summary>
    Redis = 1,
}
