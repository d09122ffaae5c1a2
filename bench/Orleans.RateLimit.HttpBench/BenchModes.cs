using System.Threading.RateLimiting;
using Orleans.RateLimit.AspNetCore;

namespace Orleans.RateLimit.HttpBench;

/// <summary>
/// What a mode adds to the app. The modes:
/// <list type="bullet">
/// <item><c>none</c>: no limiter (the baseline).</item>
/// <item><c>aspnet</c>: ASP.NET Core's <c>UseRateLimiter</c>, a chain of three fixed windows (1 s, 1 min, 1 h) per client.</item>
/// <item><c>memory3</c>: this limiter with the in-memory store; an application limit per hour, a default limit per minute and the
/// endpoint's own limit per second, which does not override the default one: three windows per request.</item>
/// <item><c>grains3</c>: the same three limits counted by an embedded silo, with in-memory window state.</item>
/// <item><c>grainsfarm</c>: <c>grains3</c> with its hourly limit counted for the whole farm (one key shared by every client)
/// instead of per client: the per-client default limit per minute and endpoint limit per second, and a shared limit per hour
/// (scope <c>farm</c>) whose key selector returns <c>farm</c>; three windows per request, one of them the same for every
/// request.</item>
/// <item><c>grains1</c>: an embedded silo and the endpoint's limit per hour only: one window per request.</item>
/// <item><c>redis3</c>: no Orleans at all; the three windows of <c>aspnet</c> counted in Redis, one script call per request.</item>
/// <item><c>silo</c>: no limiter, but an embedded silo with the rate-limit grains, idle: what hosting the silo costs the app
/// by itself (not in the default run).</item>
/// </list>
/// </summary>
internal abstract class BenchMode
{
    /// <summary>Whether the mode limits with this library, whose meter <see cref="BenchCounters"/> reads.</summary>
    public virtual bool UsesLibrary => false;

    public virtual void ConfigureServices(WebApplicationBuilder builder)
    {
    }

    public virtual void ConfigurePipeline(WebApplication app)
    {
    }

    public virtual void ConfigureEndpoint(RouteHandlerBuilder endpoint)
    {
    }
}

internal static class BenchModes
{
    public static BenchMode For(BenchSettings settings) => settings.Mode switch
    {
        "none" => new NoLimiterMode(),
        "aspnet" => new AspNetMode(settings),
        "memory3" => new OrleansRateLimitMode(settings, RateLimitBackend.Memory, BenchLimits.ThreePerClient),
        "grains3" => new OrleansRateLimitMode(settings, RateLimitBackend.Orleans, BenchLimits.ThreePerClient),
        "grainsfarm" => new OrleansRateLimitMode(settings, RateLimitBackend.Orleans, BenchLimits.HourPerFarm),
        "grains1" => new OrleansRateLimitMode(settings, RateLimitBackend.Orleans, BenchLimits.OnePerClient),
        "redis3" => new RedisMode(settings),
        "silo" => new SiloOnlyMode(settings),
        _ => throw new ArgumentException(
            $"Unknown --mode '{settings.Mode}'; expected none, aspnet, memory3, grains3, grainsfarm, grains1, redis3 or silo.", nameof(settings)),
    };

    private sealed class NoLimiterMode : BenchMode;

    private sealed class SiloOnlyMode(BenchSettings settings) : BenchMode
    {
        public override void ConfigureServices(WebApplicationBuilder builder) => builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort: settings.SiloPort, gatewayPort: settings.GatewayPort)
            .AddRateLimitGrains());
    }

    private sealed class AspNetMode(BenchSettings settings) : BenchMode
    {
        public override void ConfigureServices(WebApplicationBuilder builder) => builder.Services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                Window(TimeSpan.FromSeconds(1)), Window(TimeSpan.FromMinutes(1)), Window(TimeSpan.FromHours(1)));
        });

        public override void ConfigurePipeline(WebApplication app) => app.UseRateLimiter();

        private PartitionedRateLimiter<HttpContext> Window(TimeSpan window) => PartitionedRateLimiter.Create<HttpContext, string>(
            context => RateLimitPartition.GetFixedWindowLimiter(
                context.Request.Headers[BenchSettings.ClientHeader].ToString(),
                _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = (int)Math.Min(settings.Permit, int.MaxValue),
                    Window = window,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
    }

    private enum BenchLimits
    {
        /// <summary>The endpoint's limit per hour, per client.</summary>
        OnePerClient,

        /// <summary>Per client: an application limit per hour, a default limit per minute, the endpoint's limit per second.</summary>
        ThreePerClient,

        /// <summary>As <see cref="ThreePerClient"/>, but the limit per hour counts every client under one key.</summary>
        HourPerFarm,
    }

    private sealed class OrleansRateLimitMode(BenchSettings settings, RateLimitBackend backend, BenchLimits limits) : BenchMode
    {
        /// <summary>The key of the farm-wide limit, and its scope.</summary>
        public const string FarmKey = "farm";

        public override bool UsesLibrary => true;

        public override void ConfigureServices(WebApplicationBuilder builder)
        {
            if (backend == RateLimitBackend.Orleans)
            {
                builder.UseOrleans(silo => silo
                    .UseLocalhostClustering(siloPort: settings.SiloPort, gatewayPort: settings.GatewayPort)
                    .AddRateLimitGrains());
            }

            builder.Services.AddOrleansRateLimiting(options =>
            {
                options.Backend = backend;
                options.KeySelector = KeySelectors.Header(BenchSettings.ClientHeader);
                options.HeadersEnabled = true;
                if (settings.GrainCallTimeout is { } timeout)
                {
                    options.GrainCallTimeout = timeout;
                }
                if (limits == BenchLimits.ThreePerClient)
                {
                    options.ApplicationLimits.Add(settings.Limit("hour"));
                }

                if (limits != BenchLimits.OnePerClient)
                {
                    options.DefaultLimits.Add(settings.Limit("minute"));
                }
            });
        }

        public override void ConfigurePipeline(WebApplication app) => app.UseOrleansRateLimiting();

        public override void ConfigureEndpoint(RouteHandlerBuilder endpoint)
        {
            switch (limits)
            {
                case BenchLimits.OnePerClient:
                    endpoint.RateLimit(settings.Limit("hour"));
                    break;
                case BenchLimits.ThreePerClient:
                    endpoint.RateLimit(settings.Limit("second"), limit => limit.OverrideDefaults(false));
                    break;
                default:
                    // The options have no key selector per list of limits, so the farm-wide hourly limit is a shared endpoint
                    // limit (counted under its scope alone, as an application limit is under "global") with a constant key.
                    endpoint.RateLimit(settings.Limit("second"), limit => limit.OverrideDefaults(false));
                    endpoint.SharedRateLimit(
                        settings.Limit("hour"), FarmKey, limit => limit.KeySelector(static _ => FarmKey).OverrideDefaults(false));
                    break;
            }
        }
    }

    private sealed class RedisMode(BenchSettings settings) : BenchMode
    {
        public override void ConfigureServices(WebApplicationBuilder builder)
        {
            var redis = settings.Redis ?? throw new ArgumentException("--mode redis3 needs --redis host:port.", nameof(builder));
            builder.Services.AddSingleton(_ => RedisWindowLimiter.Connect(redis, settings.Permit));
        }

        public override void ConfigurePipeline(WebApplication app) =>
            app.Use(app.Services.GetRequiredService<RedisWindowLimiter>().InvokeAsync);
    }
}
