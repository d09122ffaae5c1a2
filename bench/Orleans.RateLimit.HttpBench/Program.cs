using Orleans.RateLimit.AspNetCore;

// The server side of bench/http/load.sh: one endpoint, "/", limited according to --mode:
//   none    no limiter at all (the baseline)
//   memory  the limiter with the in-memory store
//   grains  the limiter with an embedded silo (one grain call per request)
// The limit is far above what the load reaches, so every request does the full work of an admitted request.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var mode = builder.Configuration["mode"] ?? "none";
var port = builder.Configuration.GetValue("port", 5090);
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");

if (mode == "grains")
{
    builder.UseOrleans(silo => silo.UseLocalhostClustering(siloPort: 11211, gatewayPort: 30100).AddRateLimitGrains());
}

if (mode != "none")
{
    builder.Services.AddOrleansRateLimiting(o =>
    {
        o.Backend = mode == "memory" ? RateLimitBackend.Memory : RateLimitBackend.Orleans;
        o.DefaultLimits.Add("1000000000/hour");
        o.HeadersEnabled = true;
    });
}

var app = builder.Build();
if (mode != "none")
{
    app.UseOrleansRateLimiting();
}

app.MapGet("/", () => "ok");
app.Run();
