using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>The default 429: an RFC 9457 problem whose detail is the limit's text or its error message.</summary>
internal static class RateLimitProblem
{
    public static IResult For(string description) =>
        TypedResults.Problem(
            detail: description,
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too Many Requests",
            type: "https://www.rfc-editor.org/rfc/rfc6585#section-4");
}
