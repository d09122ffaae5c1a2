using System.Globalization;
using Orleans.RateLimit;
using Orleans.RateLimit.Grains;

// A web app with an embedded silo and in-memory window state. Every request to /hello spends one unit of the configured
// limit, counted per client address by a window grain; the response carries the X-RateLimit headers.
var builder = WebApplication.CreateBuilder(args);
var sample = builder.Configuration.GetSection("Sample");
var limit = RateLimitItem.Parse(sample["Limit"] ?? "5/minute");
var strategy = Enum.Parse<RateLimitStrategy>(sample["Strategy"] ?? nameof(RateLimitStrategy.FixedWindow), ignoreCase: true);

builder.UseOrleans(silo => silo
    .UseLocalhostClustering(sample.GetValue("SiloPort", 11111), sample.GetValue("GatewayPort", 30000))
    .AddRateLimitGrains());

var app = builder.Build();

app.MapGet("/hello", async (HttpContext context, IGrainFactory grains) =>
{
    var client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    var key = new RateLimitWindowKey(strategy, limit, "hello", client).ToGrainKey();
    var decision = await grains.GetGrain<IRateLimitWindowGrain>(key).Hit(1);

    var headers = context.Response.Headers;
    headers["X-RateLimit-Limit"] = limit.Amount.ToString(CultureInfo.InvariantCulture);
    headers["X-RateLimit-Remaining"] = decision.Stats.Remaining.ToString(CultureInfo.InvariantCulture);
    headers["X-RateLimit-Reset"] = ((long)Math.Floor(decision.Stats.ResetAt.ToUnixTimeMilliseconds() / 1000.0 + 1)).ToString(CultureInfo.InvariantCulture);
    return decision.Allowed
        ? Results.Text($"Hello {client}: {decision.Stats.Remaining} of {limit} left.\n")
        : Results.Problem(detail: limit.ToString(), statusCode: StatusCodes.Status429TooManyRequests);
});

app.MapGet("/", () => Results.Text("GET /hello is limited to " + limit + " per client.\n"));

app.Run();
