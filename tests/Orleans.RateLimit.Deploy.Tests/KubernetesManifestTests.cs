using static Orleans.RateLimit.Deploy.Tests.Yaml;

namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>
/// deploy/kubernetes: no cluster applies it here, so its content is checked. Each change below breaks one rule of the
/// real manifests and must be reported exactly.
/// </summary>
public sealed class KubernetesManifestTests
{
    [Fact]
    public void The_manifests_have_no_problems() =>
        Assert.Empty(KubernetesRules.Check(DeployFiles.Manifests()));

    [Fact]
    public void The_manifests_hold_redis_silos_web_nodes_their_budgets_and_services()
    {
        var objects = DeployFiles.Manifests()
            .Select(d => $"{Str(At(d.Tree, "kind"))}/{Str(At(d.Tree, "metadata", "name"))}")
            .Order(StringComparer.Ordinal);

        Assert.Equal(
            [
                "Deployment/ratelimit-silo", "Deployment/ratelimit-web", "Kustomization/",
                "PodDisruptionBudget/ratelimit-silo", "PodDisruptionBudget/ratelimit-web",
                "Service/ratelimit-web", "Service/redis", "StatefulSet/redis",
            ],
            objects);
    }

    [Fact]
    public void A_latest_or_missing_tag_and_an_override_of_an_image_no_container_uses_are_reported()
    {
        var manifests = DeployFiles.Manifests();
        Set(DeployFiles.Find(manifests, "Deployment", "ratelimit-silo"), "spec.template.spec.containers.0.image", "orleans-ratelimit-silo:latest");
        Set(DeployFiles.Find(manifests, "Deployment", "ratelimit-web"), "spec.template.spec.containers.0.image", "example/webapp");
        var kustomization = manifests.Single(d => d.File.EndsWith("/kustomization.yaml", StringComparison.Ordinal)).Tree;
        Set(kustomization, "images.0.newTag", "latest");

        Assert.Equal(
            [
                "Deployment/ratelimit-silo container silo: image 'orleans-ratelimit-silo:latest' uses the tag latest",
                "Deployment/ratelimit-web container web: image 'example/webapp' has no tag",
                "deploy/kubernetes/kustomization.yaml: image 'orleans-ratelimit-silo' uses the tag latest",
                "deploy/kubernetes/kustomization.yaml: image 'orleans-ratelimit-webapp' is used by no container",
            ],
            KubernetesRules.Check(manifests));
    }

    [Fact]
    public void A_container_without_probes_or_requests_is_reported()
    {
        var manifests = DeployFiles.Manifests();
        var silo = DeployFiles.Find(manifests, "Deployment", "ratelimit-silo");
        Remove(silo, "spec.template.spec.containers.0.livenessProbe");
        Remove(silo, "spec.template.spec.containers.0.resources.requests.cpu");
        Remove(DeployFiles.Find(manifests, "StatefulSet", "redis"), "spec.template.spec.containers.0.readinessProbe");

        Assert.Equal(
            [
                "StatefulSet/redis container redis: no readinessProbe",
                "Deployment/ratelimit-silo container silo: no livenessProbe",
                "Deployment/ratelimit-silo container silo: no resources.requests.cpu",
            ],
            KubernetesRules.Check(manifests));
    }

    [Fact]
    public void Probes_of_the_wrong_port_or_path_are_reported()
    {
        var manifests = DeployFiles.Manifests();
        Set(DeployFiles.Find(manifests, "Deployment", "ratelimit-silo"), "spec.template.spec.containers.0.readinessProbe.tcpSocket.port", "gateway");
        Set(DeployFiles.Find(manifests, "Deployment", "ratelimit-web"), "spec.template.spec.containers.0.livenessProbe.httpGet.path", "/");

        Assert.Equal(
            [
                "Deployment/ratelimit-silo container silo: readinessProbe is not a TCP probe of port 11111",
                "Deployment/ratelimit-web container web: livenessProbe is not an HTTP GET of /healthz",
            ],
            KubernetesRules.Check(manifests));
    }

    [Fact]
    public void A_web_node_with_an_embedded_silo_is_reported()
    {
        var manifests = DeployFiles.Manifests();
        Set(DeployFiles.Find(manifests, "Deployment", "ratelimit-web"), "spec.template.spec.containers.0.env.0.value", "Silo");

        Assert.Equal(
            ["Deployment/ratelimit-web container web: RateLimitSilo__Mode is 'Silo', expected 'Client'"],
            KubernetesRules.Check(manifests));
    }

    [Fact]
    public void A_deployment_without_a_disruption_budget_and_a_service_selecting_nothing_are_reported()
    {
        var manifests = DeployFiles.Manifests();
        Set(DeployFiles.Find(manifests, "PodDisruptionBudget", "ratelimit-web"), "spec.selector.matchLabels.app", "ratelimit-webapp");
        Set(DeployFiles.Find(manifests, "Service", "redis"), "spec.selector.app", "redis");

        Assert.Equal(
            [
                "Deployment/ratelimit-web: no PodDisruptionBudget selects its pods",
                "Service/redis: selects no pods",
            ],
            KubernetesRules.Check(manifests));
    }

    [Fact]
    public void Redis_without_appendonly_or_persistent_volume_is_reported()
    {
        var manifests = DeployFiles.Manifests();
        var redis = DeployFiles.Find(manifests, "StatefulSet", "redis");
        Set(redis, "spec.template.spec.containers.0.args", new List<object?> { "redis-server", "--save", "60 1" });
        Remove(redis, "spec.volumeClaimTemplates");

        Assert.Equal(
            [
                "StatefulSet/redis container redis: appendonly is not turned on (--appendonly yes)",
                "StatefulSet/redis container redis: appendfsync is not everysec (--appendfsync everysec)",
                "StatefulSet/redis container redis: no persistent volume at its data directory /data",
            ],
            KubernetesRules.Check(manifests));
    }

    [Fact]
    public void An_unnamed_object_and_a_manifest_missing_from_the_kustomization_are_reported()
    {
        var manifests = DeployFiles.Manifests();
        Remove(DeployFiles.Find(manifests, "Service", "ratelimit-web"), "metadata.name");
        var kustomization = manifests.Single(d => d.File.EndsWith("/kustomization.yaml", StringComparison.Ordinal)).Tree;
        Set(kustomization, "resources", new List<object?> { "redis.yaml", "silo.yaml", "web.yml" });

        Assert.Equal(
            [
                "deploy/kubernetes/web.yaml document 1: no metadata.name",
                "deploy/kubernetes/kustomization.yaml: resource deploy/kubernetes/web.yml does not exist",
                "deploy/kubernetes/kustomization.yaml: deploy/kubernetes/web.yaml is not among its resources",
            ],
            KubernetesRules.Check(manifests));
    }
}
