using Orleans.RateLimit.Grains;
using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// The limiter's settings: Flask-Limiter's <c>Limiter</c> arguments in .NET form. Bound from the <c>RateLimit</c>
/// configuration section by <c>AddOrleansRateLimiting</c>, then adjusted by its delegate, and validated at startup.
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>The configuration section bound by default.</summary>
    public const string SectionName = "RateLimit";

    /// <summary>When <see langword="false"/>, no request is limited and no header is written. Default <see langword="true"/>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where windows are counted. Default <see cref="RateLimitBackend.Orleans"/>.</summary>
    public RateLimitBackend Backend { get; set; } = RateLimitBackend.Orleans;

    /// <summary>Whom limits count, unless a limit names its own selector. Default <see cref="KeySelectors.RemoteAddress"/>.</summary>
    public Func<HttpContext, string?> KeySelector { get; set; } = KeySelectors.RemoteAddress;

    /// <summary>How windows count. Default <see cref="RateLimitStrategy.FixedWindow"/>.</summary>
    public RateLimitStrategy Strategy { get; set; } = RateLimitStrategy.FixedWindow;

    /// <summary>
    /// Limits for every endpoint without limits of its own, counted per endpoint unless shared. A limit added with settings
    /// of its own (<c>DefaultLimits.Add("10/second", l => l.KeySelector(ByUser))</c>) takes none of the list-wide settings below.
    /// </summary>
    public RateLimitList DefaultLimits { get; } = [];

    /// <summary>Whether the default limits count each HTTP method separately.</summary>
    public bool DefaultLimitsPerMethod { get; set; }

    /// <summary>When it returns <see langword="true"/>, the default limits are skipped for the request.</summary>
    public Func<HttpContext, bool>? DefaultLimitsExemptWhen { get; set; }

    /// <summary>When set, the default limits are only tested before the endpoint runs, and spent after it if this returns <see langword="true"/> for the response.</summary>
    public Func<HttpResponse, bool>? DefaultLimitsDeductWhen { get; set; }

    /// <summary>What a request costs against the default limits. Default 1.</summary>
    public Func<HttpContext, int>? DefaultLimitsCost { get; set; }

    /// <summary>
    /// Limits shared by every endpoint (scope <c>global</c>, or the scope a limit names). A limit added with settings of its
    /// own takes none of the list-wide settings below.
    /// </summary>
    public RateLimitList ApplicationLimits { get; } = [];

    /// <summary>Whether the application limits count each HTTP method separately (scope <c>global:GET</c>).</summary>
    public bool ApplicationLimitsPerMethod { get; set; }

    /// <summary>When it returns <see langword="true"/>, the application limits are skipped for the request.</summary>
    public Func<HttpContext, bool>? ApplicationLimitsExemptWhen { get; set; }

    /// <summary>As <see cref="DefaultLimitsDeductWhen"/>, for the application limits.</summary>
    public Func<HttpResponse, bool>? ApplicationLimitsDeductWhen { get; set; }

    /// <summary>What a request costs against the application limits. Default 1.</summary>
    public Func<HttpContext, int>? ApplicationLimitsCost { get; set; }

    /// <summary>
    /// Limits on how often a client may break limits: every request rejected by a limit counts one breach, and a client over a
    /// meta limit gets 429 on every request until its meta window ends.
    /// </summary>
    public MetaLimitList MetaLimits { get; } = [];

    /// <summary>Called when a meta limit rejects a request; a non-null result is the response.</summary>
    public Func<BreachContext, IResult?>? OnMetaBreach { get; set; }

    /// <summary>Called for every broken limit; a non-null result is the response (a limit's own callback wins over this one).</summary>
    public Func<BreachContext, IResult?>? OnBreach { get; set; }

    /// <summary>Whether responses carry rate-limit headers. Default <see langword="false"/>, as in Flask-Limiter.</summary>
    public bool HeadersEnabled { get; set; }

    /// <summary>Which header fields are written when <see cref="HeadersEnabled"/>. Default <see cref="RateLimitHeaderFields.XRateLimit"/>.</summary>
    public RateLimitHeaderFields HeaderFields { get; set; } = RateLimitHeaderFields.XRateLimit;

    /// <summary>The names of the X-RateLimit fields.</summary>
    public RateLimitHeaderNames HeaderNames { get; } = new();

    /// <summary>The form of <c>Retry-After</c>. Default <see cref="RetryAfterFormat.DeltaSeconds"/>.</summary>
    public RetryAfterFormat RetryAfterFormat { get; set; } = RetryAfterFormat.DeltaSeconds;

    /// <summary>Put in front of every regular limit's key (not meta limits'), so that several limiters or apps can share one cluster.</summary>
    public string KeyPrefix { get; set; } = "";

    /// <summary>Whether evaluation stops at the first broken limit. Default <see langword="true"/>.</summary>
    public bool FailOnFirstBreach { get; set; } = true;

    /// <summary>Whether an error while limiting (a failing store or callback) is logged and the request let through instead of failing with 500.</summary>
    public bool SwallowErrors { get; set; }

    /// <summary>
    /// Whether windows are counted in this process while the cluster can't be reached, with the limits they would have had
    /// (Flask-Limiter's <c>in_memory_fallback_enabled</c>). Giving <see cref="InMemoryFallback"/> limits enables it too.
    /// Default <see langword="true"/>, unlike Flask-Limiter: a grain call that fails or outlasts <see cref="GrainCallTimeout"/>
    /// (50 ms) is an overload as often as an outage, and an overloaded cluster must not turn requests into 500s; so with the
    /// default <see cref="FailureMode"/> such a request is decided in memory. <see langword="false"/> gives the original's
    /// behaviour: limits that fall back to memory fail the request with 500, or let it through with <see cref="SwallowErrors"/>.
    /// </summary>
    public bool InMemoryFallbackEnabled { get; set; } = true;

    /// <summary>
    /// Limits that replace the application, default, group and endpoint limits while the cluster can't be reached, counted in
    /// this process per endpoint, not per method, cost 1; the limiter's meta limits still apply. Limits whose failure mode is
    /// not <see cref="RateLimitFailureMode.FallbackToMemory"/> keep their own behaviour.
    /// </summary>
    public RateLimitList InMemoryFallback { get; } = [];

    /// <summary>What limits without a failure mode of their own do while the cluster can't be reached. Default <see cref="RateLimitFailureMode.FallbackToMemory"/>.</summary>
    public RateLimitFailureMode FailureMode { get; set; } = RateLimitFailureMode.FallbackToMemory;

    /// <summary>
    /// How long a request waits for its windows' owner before its limits are decided by their failure mode. Default 50 ms.
    /// When calls keep failing for <see cref="CircuitBreakerDuration"/> the circuit opens (see there). While the circuit is
    /// open no grain is called; a probe, after 1, 2, 4, 8, 16 and 32 seconds and then from 1 second again, closes it once the
    /// cluster answers.
    /// </summary>
    public TimeSpan GrainCallTimeout { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How many grain calls must have failed or timed out, with none succeeding in between, before the circuit opens; the run
    /// must also have lasted <see cref="CircuitBreakerDuration"/>. Default 3: a single failed call on a quiet node never
    /// opens it.
    /// </summary>
    public int CircuitBreakerThreshold { get; set; } = 3;

    /// <summary>
    /// How long grain calls must have kept failing, with none succeeding in between, before the circuit opens (and at least
    /// <see cref="CircuitBreakerThreshold"/> of them failed). Default 1 second: under load a pause of the cluster or of this
    /// process (a garbage collection, a starved thread pool) fails a burst of calls within milliseconds while the calls
    /// around it succeed; each of them is decided by its failure mode, and the circuit stays closed instead of flapping. An
    /// open circuit stays open until its first probe, a second later at the earliest, so opening on a shorter failure would
    /// cost more than the failure did. A dead cluster opens it at the first failed call after this long, however little
    /// traffic there is; while calls hang, the requests of that second each wait <see cref="GrainCallTimeout"/>. Zero opens
    /// it after <see cref="CircuitBreakerThreshold"/> failures in a row, whatever their timing. From zero to 1 minute.
    /// </summary>
    public TimeSpan CircuitBreakerDuration { get; set; } = DefaultCircuitBreakerDuration;

    /// <summary>The default of <see cref="CircuitBreakerDuration"/>.</summary>
    internal static readonly TimeSpan DefaultCircuitBreakerDuration = TimeSpan.FromSeconds(1);

    /// <summary>The longest <see cref="CircuitBreakerDuration"/>: failing calls for longer than that is an outage by any measure.</summary>
    internal static readonly TimeSpan MaxCircuitBreakerDuration = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Whether limits without a leasing mode of their own decide hot windows from budgets leased to this node, without a
    /// call per request. Default <see cref="RateLimitLeasing.Auto"/>: a window is leased once this node decides it 4 times
    /// within a second. The Orleans backend only; the memory backend decides everything in process anyway.
    /// </summary>
    public RateLimitLeasing Leasing { get; set; } = RateLimitLeasing.Auto;

    /// <summary>
    /// How many partition grains own the cluster's windows; a window's owner is chosen by a hash of its client key. Default
    /// 256: enough to spread the windows of many clients evenly over dozens of silos and cores, few enough that their
    /// activations (a quarter of a millisecond each) are paid once, at start. Every node of a cluster must use the same
    /// value: nodes that differ count in different owners. Changing it starts persisted windows from zero.
    /// </summary>
    public int Partitions { get; set; } = WindowPartition.DefaultCount;

    /// <summary>
    /// Names the endpoint for scopes: default limits count per identifier. Returning <see langword="null"/> or empty skips
    /// limiting for the request. Default: the endpoint's name, else its route pattern, else its display name.
    /// </summary>
    public Func<HttpContext, string?>? RequestIdentifier { get; set; }

    /// <summary>When any filter returns <see langword="true"/>, the request is not limited at all (no meta limits, no headers).</summary>
    public IList<Func<HttpContext, bool>> RequestFilters { get; } = [];
}
