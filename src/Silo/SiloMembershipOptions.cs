using Orleans.Configuration;

namespace Orleans.RateLimit.Silo;

/// <summary>
/// How fast the silos of a rate-limit cluster declare a crashed silo dead, so that its partition grains, and the windows
/// they own, move to the survivors. Applied to Orleans' <see cref="ClusterMembershipOptions"/> (configuration section
/// <c>RateLimitSilo:Membership</c>); code that configures <see cref="ClusterMembershipOptions"/> after
/// <c>UseRateLimitSilo</c> overrides them.
/// </summary>
/// <remarks>
/// Orleans' own defaults are tuned for large clusters, where a false death declaration is costly: a crashed silo is
/// declared dead 10 s or more after it stopped answering. Until then every request whose window it owned is decided by its
/// failure mode. These defaults declare it dead within about 2 s. A silo that only pauses (a long garbage collection) is
/// protected by Orleans' connection liveness check: no vote is cast against a silo that sent messages within the last
/// <c>4 × ProbeTimeout × NumMissedProbesLimit</c> (8 s).
/// </remarks>
public sealed class SiloMembershipOptions
{
    /// <summary>
    /// The initial time a liveness probe waits for its answer, and the period between probes; Orleans adapts both between
    /// half and four times this to the answers' round-trip times. Default 1 s (Orleans: 5 s).
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Probes of a silo that fail in a row before its prober votes it dead. Default 2 (Orleans: 3).</summary>
    public int NumMissedProbesLimit { get; set; } = 2;

    /// <summary>
    /// Votes that declare a silo dead; Orleans needs at most half the active silos' votes, so one is enough in a cluster of
    /// two. Default 2 (as Orleans).
    /// </summary>
    public int NumVotesForDeathDeclaration { get; set; } = 2;

    /// <summary>How long a vote counts: two votes further apart than this do not add up. Default 10 s (Orleans: 2 min).</summary>
    public TimeSpan DeathVoteExpirationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often each silo reads the membership table; changes reach the silos at once by gossip, and this read is how a
    /// silo that missed the gossip catches up. Default 10 s (Orleans: 60 s).
    /// </summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Every problem with these options, each naming its configuration key under <paramref name="path"/>.</summary>
    internal IEnumerable<string> Validate(string path)
    {
        foreach (var (name, value) in new[]
        {
            (nameof(ProbeTimeout), ProbeTimeout),
            (nameof(DeathVoteExpirationTimeout), DeathVoteExpirationTimeout),
            (nameof(TableRefreshTimeout), TableRefreshTimeout),
        })
        {
            if (value <= TimeSpan.Zero)
            {
                yield return $"{path}:{name} must be positive, but is {value}.";
            }
        }

        foreach (var (name, value) in new[] { (nameof(NumMissedProbesLimit), NumMissedProbesLimit), (nameof(NumVotesForDeathDeclaration), NumVotesForDeathDeclaration) })
        {
            if (value < 1)
            {
                yield return $"{path}:{name} must be 1 or more, but is {value}.";
            }
        }
    }

    /// <summary>A copy, so that what a silo was configured with does not change with the options object afterwards.</summary>
    internal SiloMembershipOptions Copy() => (SiloMembershipOptions)MemberwiseClone();

    internal void CopyTo(ClusterMembershipOptions target)
    {
        target.ProbeTimeout = ProbeTimeout;
        target.NumMissedProbesLimit = NumMissedProbesLimit;
        target.NumVotesForDeathDeclaration = NumVotesForDeathDeclaration;
        target.DeathVoteExpirationTimeout = DeathVoteExpirationTimeout;
        target.TableRefreshTimeout = TableRefreshTimeout;
    }
}
