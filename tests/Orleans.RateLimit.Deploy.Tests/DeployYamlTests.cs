namespace Orleans.RateLimit.Deploy.Tests;

public sealed class DeployYamlTests
{
    [Fact]
    public void Every_yaml_file_under_deploy_parses_and_is_checked_by_the_compose_or_the_kubernetes_rules()
    {
        var files = Repository.YamlFiles("deploy");

        Assert.Contains(DeployFiles.ComposeFile, files);
        Assert.Contains($"{DeployFiles.KubernetesDirectory}/kustomization.yaml", files);
        foreach (var file in files)
        {
            Assert.NotEmpty(Yaml.Documents(Repository.Read(file)));
        }

        var uncovered = files.Where(file => file != DeployFiles.ComposeFile && !file.StartsWith(DeployFiles.KubernetesDirectory + "/", StringComparison.Ordinal));
        Assert.Empty(uncovered);
    }

    [Fact]
    public void A_syntax_error_is_reported_with_its_line_and_a_duplicate_key_by_name()
    {
        var syntax = Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => Yaml.Documents("services:\n  redis: [redis\n"));
        Assert.Equal(3, syntax.Start.Line);

        var duplicate = Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => Yaml.Documents("services:\n  redis: {}\n  redis: {}\n"));
        Assert.Equal("Encountered duplicate key redis", duplicate.Message);
    }

    [Theory]
    [InlineData("redis:7.4", null)]
    [InlineData("registry.example.com:5000/orleans-ratelimit-silo:1.0.0", null)]
    [InlineData("redis@sha256:0123456789abcdef", null)]
    [InlineData("redis", "has no tag")]
    [InlineData("registry.example.com:5000/orleans-ratelimit-silo", "has no tag")]
    [InlineData("orleans-ratelimit-silo:latest", "uses the tag latest")]
    public void An_image_is_pinned_by_a_tag_other_than_latest_or_by_a_digest(string image, string? problem) =>
        Assert.Equal(problem, Images.TagProblem(image));
}
