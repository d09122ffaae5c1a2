using Orleans.RateLimit.AspNetCore;

// A web app with an embedded silo. The "RateLimit" section of appsettings.json sets the limiter-wide limits (default,
// application and meta limits, headers on, in-memory fallback while the cluster can't answer); the endpoints below add
// their own. The "RateLimitSilo" section sets the silo: on its own, localhost clustering with window state in memory;
// with RateLimitSilo__Clustering=Redis, RateLimitSilo__Storage=Redis and RateLimitSilo__Redis=host:port, several copies
// of this app form one cluster that keeps its windows in Redis. With RateLimitSilo__Mode=Client the app hosts no silo and
// is a client of a standalone cluster (src/Silo/Host): of the silo on this machine by default (gateway port 30000), or of
// the silos registered in Redis with RateLimitSilo__Clustering=Redis and RateLimitSilo__Redis=host:port.
var builder = WebApplication.CreateBuilder(args);

// Where to listen comes from ASPNETCORE_URLS, --urls, ASPNETCORE_HTTP_PORTS or Kestrel endpoints; without any of them,
// on 127.0.0.1:5080 only.
string[] listenSettings = ["urls", "http_ports", "https_ports"];
if (listenSettings.All(key => string.IsNullOrWhiteSpace(builder.Configuration[key])) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
{
    builder.WebHost.UseUrls("http://127.0.0.1:5080");
}

builder.UseOrleansRateLimitSilo();

builder.Services.AddOrleansRateLimiting(o =>
{
    // A client whose requests carry the header is counted by it, every other client by its address.
    o.KeySelector = context => KeySelectors.Header("X-Api-Key")(context) ?? KeySelectors.RemoteAddress(context);
    o.RequestFilters.Add(context => context.Request.Path.StartsWithSegments("/favicon.ico", StringComparison.Ordinal));
});
builder.Services.AddHealthChecks().AddOrleansRateLimiting();

var app = builder.Build();
app.UseOrleansRateLimiting();

// Default limits (10/minute per endpoint and client) and the application limit (100/minute per client, shared).
app.MapGet("/", () => Results.Text(
    """
    Try: /hello (default limits), /slow (1/minute), /search?q=x (a stricter limit for anonymous clients),
    /orders and /orders/1 (a limit shared by both), /api/v1/items (group limits), /health (exempt), /limits,
    /healthz (the limiter's health check).
    Three 429s within 5 minutes block a client everywhere for the rest of those 5 minutes (meta limit).

    """));

app.MapGet("/hello", (HttpContext context) => $"Hello {context.Connection.RemoteIpAddress}!\n");

// A route limit replaces the defaults.
app.MapGet("/slow", () => "Slow down.\n").RateLimit("1/minute", l => l.ErrorMessage("One per minute, please."));

// A dynamic limit: clients with an API key get more.
app.MapGet("/search", (string? q) => $"Results for '{q}'.\n")
    .RateLimit(context => context.Request.Headers.ContainsKey("X-Api-Key") ? "20/minute" : "3/minute");

// One counter for both endpoints.
app.MapGet("/orders", () => "All orders.\n").SharedRateLimit("5/minute", scope: "orders");
app.MapGet("/orders/{id:int}", (int id) => $"Order {id}.\n").SharedRateLimit("5/minute", scope: "orders");

// Group limits reach nested groups; a nested group can replace them.
var api = app.MapGroup("/api").RateLimit("2/second;30/minute");
var v1 = api.MapGroup("/v1");
v1.MapGet("/items", () => "apple\npear\n");
v1.MapGet("/export", () => "export\n").RateLimit("2/hour", l => l.Cost(1).DeductWhen(r => r.StatusCode == 200));

// No limits at all, and no meta block either.
app.MapGet("/health", () => "ok\n").ExemptFromRateLimits();

// The limits this request was checked against, after its own hit.
app.MapGet("/limits", (HttpContext context) =>
    context.Features.Get<IRateLimitFeature>()?.CurrentLimits.Select(l => new
    {
        limit = l.Limit.ToString(),
        l.Key,
        l.Scope,
        l.Remaining,
        resetAt = l.ResetAt,
    }));

app.MapHealthChecks("/healthz").ExemptFromRateLimits();
app.Run();
