using Microsoft.AspNetCore.Mvc;

namespace Orleans.RateLimit.AspNetCore.Tests;

// Every app of this assembly that maps controllers maps all of these, and the limiter checks every endpoint's limits at
// startup, so each limit here must be well-formed and each route prefix unique to these controllers.

[Route("ctl/class")]
[RateLimit("2/minute")]
public sealed class ClassLimitedController : ControllerBase
{
    [HttpGet("a")]
    public IActionResult A() => Ok("a");

    [HttpGet("b")]
    public IActionResult B() => Ok("b");

    [HttpGet("exempt")]
    [RateLimitExempt]
    public IActionResult Exempt() => Ok("exempt");
}

[Route("ctl/action")]
public sealed class ActionLimitedController : ControllerBase
{
    [HttpGet("limited")]
    [RateLimit("1/minute")]
    public IActionResult Limited() => Ok("limited");

    [HttpGet("free")]
    public IActionResult Free() => Ok("free");
}

[Route("ctl/repeated")]
[RateLimit("3/minute")]
public sealed class RepeatedLimitController : ControllerBase
{
    [HttpGet]
    [RateLimit("1/second")]
    [RateLimit("5/hour")]
    public IActionResult Get() => Ok("repeated");
}

[Route("ctl/resource")]
[RateLimit("2/minute")]
public sealed class ResourceController : ControllerBase
{
    [HttpGet]
    public string Get() => HttpContext.Features.Get<IRateLimitFeature>()?.CurrentLimit?.Scope ?? "";

    [HttpPost]
    public string Post() => HttpContext.Features.Get<IRateLimitFeature>()?.CurrentLimit?.Scope ?? "";
}

[Route("ctl/per-method")]
[RateLimit("2/minute", PerMethod = true)]
public sealed class PerMethodResourceController : ControllerBase
{
    [HttpGet]
    public string Get() => HttpContext.Features.Get<IRateLimitFeature>()?.CurrentLimit?.Scope ?? "";

    [HttpPost]
    public string Post() => HttpContext.Features.Get<IRateLimitFeature>()?.CurrentLimit?.Scope ?? "";
}

[Route("ctl/get-only")]
[RateLimit("1/minute", Methods = new[] { "GET" })]
public sealed class GetOnlyLimitController : ControllerBase
{
    [HttpGet]
    public IActionResult Get() => Ok("get");

    [HttpPost]
    public IActionResult Post() => Ok("post");
}

[Route("ctl/shared-one")]
[SharedRateLimit("2/minute", "ctl-shared")]
public sealed class SharedOneController : ControllerBase
{
    [HttpGet]
    public string Get() => HttpContext.Features.Get<IRateLimitFeature>()?.CurrentLimit?.Scope ?? "";
}

[Route("ctl/shared-two")]
[SharedRateLimit("2/minute", "ctl-shared")]
public sealed class SharedTwoController : ControllerBase
{
    [HttpGet]
    public string Get() => HttpContext.Features.Get<IRateLimitFeature>()?.CurrentLimit?.Scope ?? "";
}

[Route("ctl/exempt")]
[RateLimitExempt]
[RateLimit("1/minute")]
public sealed class ExemptController : ControllerBase
{
    [HttpGet]
    public IActionResult Get() => Ok("exempt");
}

[Route("ctl/exempt-application")]
[RateLimitExempt(ExemptionScope.Application)]
[RateLimit("1/minute")]
public sealed class ApplicationExemptController : ControllerBase
{
    [HttpGet]
    public IActionResult Get() => Ok("exempt-application");
}

[Route("ctl/options")]
public sealed class LimitOptionsController : ControllerBase
{
    [HttpGet("cost")]
    [RateLimit("5/minute", Cost = 2)]
    public IActionResult Cost() => Ok("cost");

    [HttpGet("message")]
    [RateLimit("1/minute", ErrorMessage = "ctl: slow down")]
    public IActionResult Message() => Ok("message");

    [HttpGet("combined")]
    [RateLimit("5/minute", OverrideDefaults = false)]
    public IActionResult Combined() => Ok("combined");
}
