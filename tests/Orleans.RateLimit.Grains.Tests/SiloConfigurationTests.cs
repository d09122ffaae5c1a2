using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.RateLimit.Silo;

namespace Orleans.RateLimit.Grains.Tests;

/// <summary>
/// The <c>RateLimitSilo</c> section is read strictly and every problem in it is reported at once, and what it configures
/// reaches Orleans' own options. Hosts are built, not started: no ports are bound.
/// </summary>
public sealed class SiloConfigurationTests
{
    private const string GrainOptions = "RedisConnectionString, PersistenceThreshold, MinFlushInterval, MaxFlushInterval, ExpiryGrace or StorageTimeout";

    [Theory]
    [InlineData("Clustring", "Redis", "Configuration value RateLimitSilo:Clustring 'Redis' is not a rate-limit silo option.")]
    [InlineData("Clustering", "Consul", "Configuration value RateLimitSilo:Clustering 'Consul' is not one of Localhost, Redis.")]
    [InlineData("clustering", "1", "Configuration value RateLimitSilo:clustering '1' is not one of Localhost, Redis.")]
    [InlineData("Mode", "Server", "Configuration value RateLimitSilo:Mode 'Server' is not one of Silo, Client.")]
    [InlineData("Storage", "Disk", "Configuration value RateLimitSilo:Storage 'Disk' is not one of Memory, Redis.")]
    [InlineData("SiloPort", "abc", "Configuration value RateLimitSilo:SiloPort 'abc' is not a whole number.")]
    [InlineData("PrimarySiloPort", "11111.5", "Configuration value RateLimitSilo:PrimarySiloPort '11111.5' is not a whole number.")]
    [InlineData("Grains", "fast", "Configuration value RateLimitSilo:Grains 'fast' is a section; set its keys instead, e.g. RateLimitSilo:Grains:MaxFlushInterval.")]
    [InlineData("Grains:MaxFlushIntervl", "00:00:01", $"Configuration value RateLimitSilo:Grains:MaxFlushIntervl '00:00:01' is not a grain option; use {GrainOptions}.")]
    [InlineData("Grains:StorageTimeout", "2s", "Configuration value RateLimitSilo:Grains:StorageTimeout '2s' is not a duration; use hh:mm:ss.fff, e.g. 00:00:01.")]
    [InlineData("Membership:ProbeTimeout", "1s", "Configuration value RateLimitSilo:Membership:ProbeTimeout '1s' is not a duration; use hh:mm:ss.fff, e.g. 00:00:01.")]
    [InlineData("Membership:NumMissedProbes", "2",
        "Configuration value RateLimitSilo:Membership:NumMissedProbes '2' is not a membership option; use ProbeTimeout, NumMissedProbesLimit, NumVotesForDeathDeclaration, DeathVoteExpirationTimeout or TableRefreshTimeout.")]
    [InlineData("Membership:NumMissedProbesLimit", "0", "RateLimitSilo:Membership:NumMissedProbesLimit must be 1 or more, but is 0.")]
    [InlineData("Membership:TableRefreshTimeout", "-00:00:01", "RateLimitSilo:Membership:TableRefreshTimeout must be positive, but is -00:00:01.")]
    [InlineData("GatewayListRefreshPeriod", "00:00:01",
        "Configuration value RateLimitSilo:GatewayListRefreshPeriod '00:00:01' applies to a client only; remove it, or set RateLimitSilo:Mode to Client.")]
    public void A_bad_key_or_value_fails_the_start_naming_its_path(string key, string value, string message)
    {
        var exception = Assert.Throws<OptionsValidationException>(() => Build(("RateLimitSilo:" + key, value)));

        Assert.Equal([message], exception.Failures);
        Assert.Equal(message, exception.Message);
        Assert.Equal(typeof(RateLimitSiloOptions), exception.OptionsType);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_configuration_problems_first_in_configuration_order()
    {
        var exception = Assert.Throws<OptionsValidationException>(() => Build(
            ("RateLimitSilo:Storage", "Redis"),
            ("RateLimitSilo:SiloPort", "eleven"),
            ("RateLimitSilo:Clustring", "Redis"),
            ("RateLimitSilo:GatewayPort", "11111"),
            ("RateLimitSilo:Membership:ProbeTimeout", "00:00:00"),
            ("RateLimitSilo:Grains:MaxFlushIntervl", "00:00:01")));

        string[] failures =
        [
            "Configuration value RateLimitSilo:Clustring 'Redis' is not a rate-limit silo option.",
            $"Configuration value RateLimitSilo:Grains:MaxFlushIntervl '00:00:01' is not a grain option; use {GrainOptions}.",
            "Configuration value RateLimitSilo:SiloPort 'eleven' is not a whole number.",
            "RateLimitSilo:SiloPort and RateLimitSilo:GatewayPort are both 11111; they must differ.",
            "RateLimitSilo:Redis is required when RateLimitSilo:Storage is Redis.",
            "RateLimitSilo:Membership:ProbeTimeout must be positive, but is 00:00:00.",
        ];
        Assert.Equal(failures, exception.Failures);
        Assert.Equal(string.Join("; ", failures), exception.Message);
    }

    [Fact]
    public void Problems_name_the_section_the_options_were_read_from()
    {
        var exception = Assert.Throws<OptionsValidationException>(() => Build(
            "Limiter:Silo",
            ("Limiter:Silo:Clustering", "Redis"),
            ("Limiter:Silo:Colour", "blue")));

        Assert.Equal(
            [
                "Configuration value Limiter:Silo:Colour 'blue' is not a rate-limit silo option.",
                "Limiter:Silo:Redis is required when Limiter:Silo:Clustering is Redis.",
            ],
            exception.Failures);
    }

    [Fact]
    public void Keys_are_case_insensitive_and_empty_optional_values_are_unset()
    {
        using var host = Build(
            ("RateLimitSilo:siloport", "21001"),
            ("RateLimitSilo:GATEWAYPORT", "21002"),
            ("RateLimitSilo:clusterid", "c1"),
            ("RateLimitSilo:Redis", ""),
            ("RateLimitSilo:PrimarySiloPort", ""),
            ("RateLimitSilo:grains:maxflushinterval", "00:00:05"));

        var endpoints = host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
        Assert.Equal((21001, 21002), (endpoints.SiloPort, endpoints.GatewayPort));
        Assert.Equal("c1", host.Services.GetRequiredService<IOptions<ClusterOptions>>().Value.ClusterId);
        Assert.Equal(TimeSpan.FromSeconds(5), host.Services.GetRequiredService<IOptions<RateLimitGrainOptions>>().Value.MaxFlushInterval);
        Assert.Null(host.Services.GetService<IWindowPartitionStorage>());
    }

    [Fact]
    public void In_client_mode_each_silo_key_that_is_set_fails_the_start()
    {
        var exception = Assert.Throws<OptionsValidationException>(() => Build(
            ("RateLimitSilo:Mode", "Client"),
            ("RateLimitSilo:SiloPort", "11112"),
            ("RateLimitSilo:Storage", "Redis"),
            ("RateLimitSilo:PrimarySiloPort", ""),
            ("RateLimitSilo:Grains:MaxFlushInterval", "00:00:01"),
            ("RateLimitSilo:Membership:ProbeTimeout", "00:00:02")));

        Assert.Equal(
            [
                "Configuration value RateLimitSilo:Grains applies to a silo only; remove it, or set RateLimitSilo:Mode to Silo.",
                "Configuration value RateLimitSilo:Membership applies to a silo only; remove it, or set RateLimitSilo:Mode to Silo.",
                "Configuration value RateLimitSilo:SiloPort '11112' applies to a silo only; remove it, or set RateLimitSilo:Mode to Silo.",
                "Configuration value RateLimitSilo:Storage 'Redis' applies to a silo only; remove it, or set RateLimitSilo:Mode to Silo.",
            ],
            exception.Failures);
    }

    [Fact]
    public void A_client_with_redis_clustering_needs_redis()
    {
        var exception = Assert.Throws<OptionsValidationException>(() => Build(("RateLimitSilo:Mode", "client"), ("RateLimitSilo:Clustering", "Redis")));

        Assert.Equal(["RateLimitSilo:Redis is required when RateLimitSilo:Clustering is Redis."], exception.Failures);
    }

    [Fact]
    public void A_silo_declares_a_crashed_silo_dead_within_about_two_seconds_by_default()
    {
        using var host = Build();

        var membership = host.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(1), membership.ProbeTimeout);
        Assert.Equal(2, membership.NumMissedProbesLimit);
        Assert.Equal(2, membership.NumVotesForDeathDeclaration);
        Assert.Equal(TimeSpan.FromSeconds(10), membership.DeathVoteExpirationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), membership.TableRefreshTimeout);

        // Orleans derives the bounds of its adaptive probe timeout from ProbeTimeout.
        Assert.Equal(TimeSpan.FromMilliseconds(500), membership.MinProbeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(4), membership.MaxProbeTimeout);
    }

    [Fact]
    public void Membership_timings_come_from_configuration_and_code_configured_after_wins()
    {
        var builder = Builder(
            ("RateLimitSilo:Membership:ProbeTimeout", "00:00:02"),
            ("RateLimitSilo:Membership:NumMissedProbesLimit", "3"),
            ("RateLimitSilo:Membership:NumVotesForDeathDeclaration", "1"),
            ("RateLimitSilo:Membership:DeathVoteExpirationTimeout", "00:00:30"),
            ("RateLimitSilo:Membership:TableRefreshTimeout", "00:00:20"));
        builder.UseOrleansRateLimitSilo();
        builder.UseOrleans(silo => silo.Configure<ClusterMembershipOptions>(membership => membership.TableRefreshTimeout = TimeSpan.FromSeconds(7)));
        using var host = builder.Build();

        var membership = host.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(2), membership.ProbeTimeout);
        Assert.Equal(3, membership.NumMissedProbesLimit);
        Assert.Equal(1, membership.NumVotesForDeathDeclaration);
        Assert.Equal(TimeSpan.FromSeconds(30), membership.DeathVoteExpirationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(7), membership.TableRefreshTimeout);
    }

    [Fact]
    public void Client_mode_configures_a_client_of_the_gateway_and_no_silo()
    {
        using var host = Build(
            ("RateLimitSilo:Mode", "Client"),
            ("RateLimitSilo:GatewayPort", "21003"),
            ("RateLimitSilo:ServiceId", "s1"),
            ("RateLimitSilo:ClusterId", "c1"));

        Assert.NotNull(host.Services.GetService<IClusterClient>());
        Assert.Null(host.Services.GetService<Orleans.Runtime.ILocalSiloDetails>());
        var gateway = Assert.Single(host.Services.GetRequiredService<IOptions<StaticGatewayListProviderOptions>>().Value.Gateways);
        Assert.Equal(("127.0.0.1", 21003), (gateway.Host, gateway.Port));
        var cluster = host.Services.GetRequiredService<IOptions<ClusterOptions>>().Value;
        Assert.Equal(("c1", "s1"), (cluster.ClusterId, cluster.ServiceId));
        Assert.Equal(TimeSpan.FromSeconds(5), host.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.GatewayListRefreshPeriod);
    }

    [Fact]
    public void A_client_refreshes_its_gateways_as_configured()
    {
        using var host = Build(("RateLimitSilo:Mode", "Client"), ("RateLimitSilo:GatewayListRefreshPeriod", "00:00:02"));

        Assert.Equal(TimeSpan.FromSeconds(2), host.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.GatewayListRefreshPeriod);
    }

    [Fact]
    public void Options_of_one_mode_are_refused_by_the_builder_of_the_other()
    {
        var silo = Assert.Throws<ArgumentException>(() => Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true })
            .UseOrleans(s => s.UseRateLimitSilo(new RateLimitSiloOptions { Mode = SiloMode.Client })));
        var client = Assert.Throws<ArgumentException>(() => Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true })
            .UseOrleansClient(c => c.UseRateLimitCluster(new RateLimitSiloOptions())));

        Assert.StartsWith("The options are for a client (Mode is Client); configure a client with IClientBuilder.UseRateLimitCluster, or set Mode to Silo.", silo.Message, StringComparison.Ordinal);
        Assert.StartsWith("The options are for a silo (Mode is Silo); configure a silo with ISiloBuilder.UseRateLimitSilo, or set Mode to Client.", client.Message, StringComparison.Ordinal);
    }

    private static IHost Build(params (string Key, string Value)[] settings) => Build(RateLimitSiloOptions.SectionName, settings);

    private static IHost Build(string section, params (string Key, string Value)[] settings)
    {
        var builder = Builder(settings);
        builder.UseOrleansRateLimitSilo(section);
        return builder.Build();
    }

    /// <summary>A builder whose configuration is <paramref name="settings"/> only: no appsettings.json, no environment variables.</summary>
    private static HostApplicationBuilder Builder(params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = Environments.Production });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        return builder;
    }
}
