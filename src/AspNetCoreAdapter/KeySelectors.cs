using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Ready-made key selectors: functions that say whom a limit counts. A selector that returns <see langword="null"/> or an
/// empty string skips the limit for that request (logged as an error), as Flask-Limiter does.
/// </summary>
public static class KeySelectors
{
    /// <summary>
    /// The address of the connection's peer, IPv4-mapped addresses as plain IPv4; <c>127.0.0.1</c> when the transport has no
    /// address (Flask-Limiter's <c>get_remote_address</c>). Behind a proxy, configure <c>ForwardedHeaders</c> with the known
    /// proxies so that the connection address is the client's; forwarded headers are never read here.
    /// </summary>
    public static Func<HttpContext, string?> RemoteAddress { get; } = static context =>
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "127.0.0.1";
        }

        return (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
    };

    /// <summary>The first value of request header <paramref name="headerName"/>, e.g. <c>X-Api-Key</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="headerName"/> is empty.</exception>
    public static Func<HttpContext, string?> Header(string headerName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(headerName);
        return context =>
        {
            var values = context.Request.Headers[headerName];
            return values.Count == 0 ? null : values[0];
        };
    }

    /// <summary>The value of the authenticated user's first claim of type <paramref name="claimType"/>, e.g. <c>sub</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="claimType"/> is empty.</exception>
    public static Func<HttpContext, string?> Claim(string claimType)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(claimType);
        return context => context.User.FindFirst(claimType)?.Value;
    }
}
