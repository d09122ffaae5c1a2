using Microsoft.Extensions.Hosting;

// A standalone rate-limit silo. Configured by the "RateLimitSilo" section of appsettings.json, environment variables
// (RateLimitSilo__Clustering=Redis) and command-line arguments (--RateLimitSilo:SiloPort=11112). A misspelt key or a bad
// value stops it at startup with every problem listed.
var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleansRateLimitSilo();
using var host = builder.Build();
await host.RunAsync().ConfigureAwait(false);
