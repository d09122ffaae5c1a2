using static Orleans.RateLimit.Deploy.Tests.Yaml;

namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>
/// deploy/docker/compose.yaml: no container engine runs it here, so its content is checked. Each change below breaks one
/// rule of the real file and must be reported exactly.
/// </summary>
public sealed class ComposeFileTests
{
    [Fact]
    public void The_compose_file_has_no_problems() =>
        Assert.Empty(ComposeRules.Check(DeployFiles.Compose()));

    [Fact]
    public void The_compose_file_runs_redis_two_silos_and_two_web_nodes_published_on_loopback()
    {
        var compose = DeployFiles.Compose();

        Assert.Equal(["redis", "silo", "web1", "web2"], Map(At(compose, "services"))!.Keys);
        Assert.Equal("2", Str(At(compose, "services", "silo", "deploy", "replicas")));
        Assert.Equal(["127.0.0.1:8081:8080"], Seq(At(compose, "services", "web1", "ports")));
        Assert.Equal(["127.0.0.1:8082:8080"], Seq(At(compose, "services", "web2", "ports")));
        Assert.Empty(Seq(At(compose, "services", "redis", "ports")));
        Assert.Empty(Seq(At(compose, "services", "silo", "ports")));
    }

    [Fact]
    public void Redis_without_appendonly_or_with_another_fsync_policy_is_reported()
    {
        var compose = DeployFiles.Compose();
        Set(compose, "services.redis.command", new List<object?> { "redis-server", "--appendonly", "no", "--dir", "/data" });

        Assert.Equal(
            [
                "services.redis: appendonly is not turned on (--appendonly yes)",
                "services.redis: appendfsync is not everysec (--appendfsync everysec)",
            ],
            ComposeRules.Check(compose));
    }

    [Fact]
    public void Redis_without_a_volume_on_its_data_directory_is_reported()
    {
        var compose = DeployFiles.Compose();
        Remove(compose, "services.redis.volumes");

        Assert.Equal(["services.redis: no volume at its data directory /data"], ComposeRules.Check(compose));

        Set(compose, "services.redis.volumes", new List<object?> { "redis-state:/data" });
        Assert.Equal(["services.redis: volume 'redis-state' is not declared under volumes"], ComposeRules.Check(compose));
    }

    [Fact]
    public void A_port_published_on_every_interface_is_reported()
    {
        var compose = DeployFiles.Compose();
        Set(compose, "services.web1.ports.0", "8081:8080");
        Set(compose, "services.redis.ports", new List<object?> { new Dictionary<string, object?> { ["target"] = "6379", ["published"] = "6379" } });

        Assert.Equal(
            [
                "services.redis.ports[0] 'target 6379' is not bound to 127.0.0.1",
                "services.web1.ports[0] '8081:8080' is not bound to 127.0.0.1",
            ],
            ComposeRules.Check(compose));
    }

    [Fact]
    public void A_web_node_with_an_embedded_silo_without_health_check_or_ports_is_reported()
    {
        var compose = DeployFiles.Compose();
        Set(compose, "services.web2.environment.RateLimitSilo__Mode", "Silo");
        Remove(compose, "services.web2.environment.RateLimitSilo__Clustering");
        Remove(compose, "services.web2.healthcheck");
        Remove(compose, "services.web2.ports");

        Assert.Equal(
            [
                "services.web2: RateLimitSilo__Mode is 'Silo', expected 'Client'",
                "services.web2: RateLimitSilo__Clustering is not set, expected 'Redis'",
                "services.web2: publishes no port",
                "services.web2: no healthcheck on /healthz",
            ],
            ComposeRules.Check(compose));
    }

    [Fact]
    public void Nodes_pointed_at_a_redis_that_is_not_in_the_file_are_reported()
    {
        var compose = DeployFiles.Compose();
        Set(compose, "services.silo.environment.RateLimitSilo__Redis", "cache:6379");
        Remove(compose, "services.web1.environment.RateLimitSilo__Redis");

        Assert.Equal(
            [
                "services.silo: RateLimitSilo__Redis 'cache:6379' names no service of this file",
                "services.web1: RateLimitSilo__Redis is not set",
            ],
            ComposeRules.Check(compose));
    }

    [Fact]
    public void A_service_without_image_or_build_an_unpinned_image_and_too_few_silos_are_reported()
    {
        var compose = DeployFiles.Compose();
        Set(compose, "services.redis.image", "redis");
        Remove(compose, "services.web2.image");
        Remove(compose, "services.web2.build");
        Set(compose, "services.silo.deploy.replicas", "1");

        Assert.Equal(
            [
                "services.redis.image 'redis' has no tag",
                "services.web2: neither image nor build",
                "2 silos expected, found 1",
                "2 web nodes expected, found 1",
            ],
            ComposeRules.Check(compose));
    }
}
