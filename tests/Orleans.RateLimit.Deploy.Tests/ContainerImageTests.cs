using static Orleans.RateLimit.Deploy.Tests.Yaml;

namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>The Dockerfiles and .dockerignore: no container engine builds them here, so what they rely on is checked.</summary>
public sealed class ContainerImageTests
{
    public static TheoryData<string> Dockerfiles => ["deploy/docker/Dockerfile.silo", "deploy/docker/Dockerfile.webapp"];

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Every_file_a_dockerfile_copies_from_the_context_exists(string path)
    {
        var sources = Dockerfile.Load(path).ContextSources();

        var missing = sources.Where(source => !File.Exists(Repository.PathOf(source)) && !Directory.Exists(Repository.PathOf(source))).ToList();
        Assert.NotEmpty(sources);
        Assert.Empty(missing);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void A_dockerfile_builds_with_the_sdk_and_runs_the_published_assembly_on_a_pinned_runtime_image(string path)
    {
        var dockerfile = Dockerfile.Load(path);
        var stages = dockerfile.StageImages();

        Assert.Equal(2, stages.Count);
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", stages[0]);
        Assert.DoesNotContain("/sdk:", stages[1], StringComparison.Ordinal);
        Assert.All(stages, image => Assert.Null(Images.TagProblem(image)));
        Assert.Contains(dockerfile.PublishedAssembly(), dockerfile.All("ENTRYPOINT").Single(), StringComparison.Ordinal);
        Assert.Equal(["$APP_UID"], dockerfile.All("USER"));
    }

    [Fact]
    public void The_silo_image_exposes_the_silo_and_gateway_ports()
    {
        var silo = Dockerfile.Load("deploy/docker/Dockerfile.silo");

        Assert.Equal("Orleans.RateLimit.Silo.Host.dll", silo.PublishedAssembly());
        Assert.Equal(["11111 30000"], silo.All("EXPOSE"));
    }

    [Fact]
    public void The_web_app_image_listens_on_every_interface_on_the_port_compose_and_kubernetes_use()
    {
        var web = Dockerfile.Load("deploy/docker/Dockerfile.webapp");

        Assert.Equal("Orleans.RateLimit.Samples.WebApp.dll", web.PublishedAssembly());
        Assert.Contains("ASPNETCORE_URLS=http://0.0.0.0:8080", web.All("ENV"));
        Assert.Equal(["8080"], web.All("EXPOSE"));

        var compose = DeployFiles.Compose();
        foreach (var node in new[] { "web1", "web2" })
        {
            Assert.EndsWith(":8080", Str(At(compose, "services", node, "ports", "0")), StringComparison.Ordinal);
        }

        var deployment = DeployFiles.Find(DeployFiles.Manifests(), "Deployment", "ratelimit-web");
        Assert.Equal("8080", Str(At(deployment, "spec", "template", "spec", "containers", "0", "ports", "0", "containerPort")));
    }

    [Fact]
    public void Compose_builds_from_the_dockerfiles_of_this_directory()
    {
        var services = Map(At(DeployFiles.Compose(), "services"))!;
        var built = services.Values
            .Select(service => At(service, "build"))
            .Where(build => build is not null)
            .Select(build => $"{Str(At(build, "context"))} {Str(At(build, "dockerfile"))}")
            .Distinct()
            .Order(StringComparer.Ordinal);

        Assert.Equal(["../.. deploy/docker/Dockerfile.silo", "../.. deploy/docker/Dockerfile.webapp"], built);
    }

    [Fact]
    public void The_build_context_leaves_out_build_output_history_and_local_data()
    {
        var patterns = Repository.Read(".dockerignore").Split('\n').Select(line => line.Trim()).ToHashSet(StringComparer.Ordinal);

        Assert.Superset(new HashSet<string>(StringComparer.Ordinal) { ".git", "**/bin", "**/obj", "**/TestResults", "bench/http/profiles", ".cluster" }, patterns);
    }
}
