namespace Orleans.RateLimit.Silo;

/// <summary>What a process configured by <see cref="RateLimitSiloOptions"/> is in the rate-limit cluster.</summary>
public enum SiloMode
{
    /// <summary>It hosts a silo with the rate-limit grains: standalone, or embedded in a web app.</summary>
    Silo = 0,

    /// <summary>It hosts no silo and reaches a standalone cluster as an Orleans client, through the silos' gateways.</summary>
    Client = 1,
}
