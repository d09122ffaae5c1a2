using Orleans.RateLimit.HttpBench;

// The server side of bench/http/run.sh: one endpoint, GET / answering "ok", the client named by header X-Client, limited
// according to --mode (see BenchMode). Every limit is far above what the load reaches (--permit, default 1,000,000,000), so
// every request does the full work of an admitted request. In the modes that use this library, GET /bench/counters (exempt
// from the limits) answers how many owner calls and limited requests the limiter's meter recorded (see BenchCounters).
//   dotnet Orleans.RateLimit.HttpBench.dll --mode grains3 --port 5090 [--silo-port P --gateway-port P]
//     [--grain-call-timeout-ms 5000] [--redis host:port] [--permit N]
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var settings = BenchSettings.From(builder.Configuration);
builder.WebHost.UseUrls($"http://127.0.0.1:{settings.Port}");

var mode = BenchModes.For(settings);
using var counters = mode.UsesLibrary ? new BenchCounters() : null;
mode.ConfigureServices(builder);
var app = builder.Build();
mode.ConfigurePipeline(app);

var endpoint = app.MapGet("/", () => "ok");
mode.ConfigureEndpoint(endpoint);
counters?.Map(app);
await app.RunAsync().ConfigureAwait(false);
