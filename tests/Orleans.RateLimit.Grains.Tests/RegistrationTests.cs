using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.RateLimit.Silo;

namespace Orleans.RateLimit.Grains.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public void Invalid_grain_options_fail_at_registration_naming_each_option()
    {
        var builder = Host.CreateApplicationBuilder();

        var exception = Assert.Throws<OptionsValidationException>(() => builder.UseOrleans(silo => silo.AddRateLimitGrains(o =>
        {
            o.MinFlushInterval = TimeSpan.FromMinutes(5);
            o.PersistenceThreshold = TimeSpan.Zero;
            o.RedisConnectionString = " ";
        })));

        Assert.Equal(
            [
                "RateLimitGrainOptions.PersistenceThreshold must be positive, but is 00:00:00.",
                "RateLimitGrainOptions.MinFlushInterval (00:05:00) must not exceed MaxFlushInterval (00:00:30).",
                "RateLimitGrainOptions.RedisConnectionString is blank; leave it unset to keep state in memory.",
            ],
            exception.Failures);
    }

    [Fact]
    public void Adding_the_grains_twice_is_an_error()
    {
        var builder = Host.CreateApplicationBuilder();

        var exception = Assert.Throws<InvalidOperationException>(() => builder.UseOrleans(silo => silo.AddRateLimitGrains().AddRateLimitGrains()));

        Assert.Equal("AddRateLimitGrains was called twice for one silo; call it once, with all options.", exception.Message);
    }

    [Fact]
    public void Without_a_redis_connection_string_no_partition_storage_is_registered()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddRateLimitGrains());
        using var host = builder.Build();

        Assert.Null(host.Services.GetService<IWindowPartitionStorage>());
        Assert.Null(host.Services.GetService<RateLimitRedisConnection>());
    }

    [Fact]
    public void A_redis_connection_string_registers_the_redis_partition_storage_without_connecting()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddRateLimitGrains(o => o.RedisConnectionString = "127.0.0.1:1"));
        using var host = builder.Build();

        Assert.IsType<RedisWindowPartitionStorage>(host.Services.GetService<IWindowPartitionStorage>());
        Assert.Same(host.Services.GetService<IWindowPartitionStorage>(), host.Services.GetService<IWindowPartitionStorage>());
    }

    [Theory]
    [InlineData(5, 1)]
    [InlineData(60, 3)]
    [InlineData(3_600, 30)]
    [InlineData(86_400, 30)]
    public void Flush_interval_is_a_twentieth_of_the_window_within_bounds(int windowSeconds, int flushSeconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(flushSeconds), new RateLimitGrainOptions().FlushIntervalFor(TimeSpan.FromSeconds(windowSeconds)));
    }
}
