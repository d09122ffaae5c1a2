using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// The attributes on MVC controllers and actions (Flask-Limiter's decorators on views and class-based views); the controllers
/// are in TestControllers.cs.
/// </summary>
public abstract class ControllerTests(Backend backend) : AdapterTestBase(backend)
{
    [Fact]
    public async Task A_limit_on_a_controller_applies_to_each_of_its_actions()
    {
        await using var app = await StartControllersAsync(o => o.DefaultLimits.Add("1/minute"));

        Assert.Equal("200 200", await StatusesAsync(app.Client, "/ctl/class/a", 2));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/ctl/class/a"));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/ctl/class/b", 3));
    }

    [Fact]
    public async Task A_limit_on_an_action_replaces_the_defaults_for_that_action_only()
    {
        await using var app = await StartControllersAsync(o => o.DefaultLimits.Add("3/minute"));

        Assert.Equal("200", await OutcomeAsync(app.Client, "/ctl/action/limited"));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/ctl/action/limited"));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/ctl/action/free", 3));
        Assert.Equal("429 3 per 1 minute", await OutcomeAsync(app.Client, "/ctl/action/free"));
    }

    [Fact]
    public async Task Repeated_limits_on_a_controller_and_its_action_all_count()
    {
        await using var app = await StartControllersAsync(o => o.DefaultLimits.Add("100/second"));

        Assert.Equal("200", await OutcomeAsync(app.Client, "/ctl/repeated"));
        Assert.Equal("429 1 per 1 second", await OutcomeAsync(app.Client, "/ctl/repeated"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/ctl/repeated"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/ctl/repeated"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("429 3 per 1 minute", await OutcomeAsync(app.Client, "/ctl/repeated"));

        // The hour has counted the three requests let through; the rejected ones stopped at a shorter limit.
        app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/ctl/repeated"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/ctl/repeated"));
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("429 5 per 1 hour", await OutcomeAsync(app.Client, "/ctl/repeated"));
    }

    // A controller is Flask's class-based view: its actions on one route template are one endpoint to the limiter, so they
    // share one counter unless the limit is per method.
    [Fact]
    public async Task Actions_on_one_route_template_share_the_controller_limit()
    {
        await using var app = await StartControllersAsync(null);

        Assert.Equal("200", await StatusesAsync(app.Client, "/ctl/resource", 1, HttpMethod.Get));
        Assert.Equal("200", await StatusesAsync(app.Client, "/ctl/resource", 1, HttpMethod.Post));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/ctl/resource", HttpMethod.Get));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/ctl/resource", HttpMethod.Post));
    }

    [Fact]
    public async Task An_attribute_routed_action_counts_under_its_route_template()
    {
        await using var app = await StartControllersAsync(null);

        Assert.Equal("200 ctl/resource", await OutcomeAsync(app.Client, "/ctl/resource", HttpMethod.Get));
        Assert.Equal("200 ctl/resource", await OutcomeAsync(app.Client, "/ctl/resource", HttpMethod.Post));
    }

    [Fact]
    public async Task A_per_method_limit_counts_each_method_apart()
    {
        await using var app = await StartControllersAsync(null);

        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/ctl/per-method", 3, HttpMethod.Get));
        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/ctl/per-method", 3, HttpMethod.Post));
    }

    [Fact]
    public async Task A_per_method_limit_counts_under_the_route_template_and_the_method()
    {
        await using var app = await StartControllersAsync(null);

        Assert.Equal("200 ctl/per-method:GET", await OutcomeAsync(app.Client, "/ctl/per-method", HttpMethod.Get));
        Assert.Equal("200 ctl/per-method:POST", await OutcomeAsync(app.Client, "/ctl/per-method", HttpMethod.Post));
    }

    [Fact]
    public async Task Methods_outside_a_limit_fall_back_to_the_defaults()
    {
        await using var app = await StartControllersAsync(o => o.DefaultLimits.Add("3/minute"));

        Assert.Equal("200", await OutcomeAsync(app.Client, "/ctl/get-only", HttpMethod.Get));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/ctl/get-only", HttpMethod.Get));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/ctl/get-only", 3, HttpMethod.Post));
        Assert.Equal("429 3 per 1 minute", await OutcomeAsync(app.Client, "/ctl/get-only", HttpMethod.Post));
    }

    [Fact]
    public async Task A_shared_limit_counts_once_for_every_controller_naming_its_scope()
    {
        await using var app = await StartControllersAsync(o => o.DefaultLimits.Add("1/minute"));

        Assert.Equal("200 ctl-shared", await OutcomeAsync(app.Client, "/ctl/shared-one"));
        Assert.Equal("200 ctl-shared", await OutcomeAsync(app.Client, "/ctl/shared-two"));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/ctl/shared-one"));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/ctl/shared-two"));
    }

    [Fact]
    public async Task An_exempt_controller_or_action_is_not_limited_even_by_its_own_limits()
    {
        await using var app = await StartControllersAsync(o =>
        {
            o.DefaultLimits.Add("1/minute");
            o.ApplicationLimits.Add("1/minute");
        });

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/ctl/action/free", 2));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/ctl/exempt", 3));
        Assert.Equal("200 200 200", await StatusesAsync(app.Client, "/ctl/class/exempt", 3));
        Assert.Equal("429 1 per 1 minute", await OutcomeAsync(app.Client, "/ctl/class/a"));
    }

    [Fact]
    public async Task An_application_exemption_drops_the_controller_limit_but_keeps_the_defaults()
    {
        await using var app = await StartControllersAsync(o =>
        {
            o.DefaultLimits.Add("2/minute");
            o.ApplicationLimits.Add("1/minute");
        });

        Assert.Equal("200 429", await StatusesAsync(app.Client, "/ctl/action/free", 2));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/ctl/exempt-application", 2));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/ctl/exempt-application"));
    }

    [Fact]
    public async Task Cost_error_message_and_override_defaults_apply_from_the_attribute()
    {
        await using var app = await StartControllersAsync(o => o.DefaultLimits.Add("2/minute"));

        Assert.Equal("200 200 429", await StatusesAsync(app.Client, "/ctl/options/cost", 3));
        Assert.Equal("200", await OutcomeAsync(app.Client, "/ctl/options/message"));
        Assert.Equal("429 ctl: slow down", await OutcomeAsync(app.Client, "/ctl/options/message"));
        Assert.Equal("200 200", await StatusesAsync(app.Client, "/ctl/options/combined", 2));
        Assert.Equal("429 2 per 1 minute", await OutcomeAsync(app.Client, "/ctl/options/combined"));
    }

    private Task<TestApp> StartControllersAsync(Action<RateLimitOptions>? configure) =>
        StartAsync(configure, a => a.MapControllers(), b => b.Services.AddControllers());

    /// <summary>
    /// The status code followed by the detail of a problem response or by a non-empty text body: <c>429 1 per 1 minute</c>,
    /// <c>200 ctl/resource</c>, or just <c>200</c>.
    /// </summary>
    private static async Task<string> OutcomeAsync(HttpClient client, string path, HttpMethod? method = null)
    {
        using var response = await SendAsync(client, path, method);
        var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        var body = await response.Content.ReadAsStringAsync();
        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            using var problem = JsonDocument.Parse(body);
            return $"{status} {problem.RootElement.GetProperty("detail").GetString()}";
        }

        return body.Length == 0 || !IsScopeEndpoint(path) ? status : $"{status} {body}";
    }

    // Only these actions answer with the scope of their current limit; the others answer with a fixed word.
    private static bool IsScopeEndpoint(string path) =>
        path is "/ctl/resource" or "/ctl/per-method" or "/ctl/shared-one" or "/ctl/shared-two";
}

public sealed class ControllerTestsOnMemory() : ControllerTests(Backend.Memory);

public sealed class ControllerTestsOnGrains() : ControllerTests(Backend.Grains);
