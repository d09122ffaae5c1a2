using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>The limiter's own answers as RFC 9457 problems: the default 429, whose detail is the limit's text or its error message, and the 503 of a limit that fails closed.</summary>
internal static class RateLimitProblem
{
    public static IResult For(string description) =>
        TypedResults.Problem(
            detail: description,
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too Many Requests",
            type: "https://www.rfc-editor.org/rfc/rfc6585#section-4");

    /// <summary>The answer of a limit that fails closed while its window can't be reached.</summary>
    public static IResult Unavailable() =>
        TypedResults.Problem(
            detail: "Rate limits can't be checked right now; try again shortly.",
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Service Unavailable",
            type: "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4");
}
