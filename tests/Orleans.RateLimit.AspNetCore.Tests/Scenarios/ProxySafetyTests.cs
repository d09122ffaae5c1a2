using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;

namespace Orleans.RateLimit.AspNetCore.Tests;

/// <summary>
/// The default key is the connection's address. A client cannot choose its counter by sending <c>X-Forwarded-For</c>: the
/// header counts only when the app runs the forwarded-headers middleware before the limiter and the connection comes from a
/// proxy it trusts; then the proxy's entry (the rightmost) names the client.
/// </summary>
/// <remarks>The key is chosen before any store is asked, so the in-memory backend shows it for both.</remarks>
public sealed class ProxySafetyTests() : AdapterTestBase(Backend.Memory)
{
    private const string Endpoint = "/p";

    [Fact]
    public async Task Without_forwarded_headers_a_spoofed_X_Forwarded_For_is_ignored()
    {
        await using var app = await StartBehindAsync(forwardedHeaders: null);

        Assert.Equal("127.0.0.1=1 | 127.0.0.1=0 | 429", await AnswersAsync(app, "203.0.113.1", "203.0.113.2", "203.0.113.3"));
    }

    [Fact]
    public async Task Forwarded_headers_from_a_known_proxy_give_each_client_its_own_counter()
    {
        await using var app = await StartBehindAsync(new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor,
            KnownProxies = { IPAddress.Loopback },
        });

        Assert.Equal(
            "203.0.113.1=1 | 203.0.113.2=1 | 203.0.113.1=0 | 203.0.113.2=0 | 429 | 429",
            await AnswersAsync(app, "203.0.113.1", "203.0.113.2", "203.0.113.1", "203.0.113.2", "203.0.113.1", "203.0.113.2"));

        // The proxy's own requests count for the proxy.
        Assert.Equal("127.0.0.1=1", await AnswersAsync(app, [null]));
    }

    [Fact]
    public async Task Forwarded_headers_from_a_proxy_that_is_not_known_are_ignored()
    {
        var options = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor };
        options.KnownIPNetworks.Clear();
        options.KnownProxies.Clear();
        options.KnownProxies.Add(IPAddress.Parse("10.0.0.1"));
        await using var app = await StartBehindAsync(options);

        Assert.Equal("127.0.0.1=1 | 127.0.0.1=0 | 429", await AnswersAsync(app, "203.0.113.1", "203.0.113.2", "203.0.113.3"));
    }

    [Fact]
    public async Task The_framework_defaults_trust_loopback_even_when_another_proxy_is_named()
    {
        // KnownIPNetworks starts with 127.0.0.0/8 and KnownProxies with ::1: naming a proxy adds to them, it does not replace them.
        await using var app = await StartBehindAsync(new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor,
            KnownProxies = { IPAddress.Parse("10.0.0.1") },
        });

        Assert.Equal("203.0.113.1=1 | 203.0.113.2=1", await AnswersAsync(app, "203.0.113.1", "203.0.113.2"));
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_addresses_a_client_puts_in_front_are_not_its_key()
    {
        await using var app = await StartBehindAsync(new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor,
            KnownProxies = { IPAddress.Loopback },
        });

        // What the proxy appended is the last entry; with the default ForwardLimit of 1 nothing before it is read.
        Assert.Equal(
            "198.51.100.7=1 | 198.51.100.7=0 | 429",
            await AnswersAsync(app, "203.0.113.9, 198.51.100.7", "203.0.113.10,198.51.100.7", "not-an-ip, 198.51.100.7"));
    }

    [Fact]
    public async Task Writing_the_same_forwarded_address_another_way_counts_in_the_same_window()
    {
        await using var app = await StartBehindAsync(new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor,
            KnownProxies = { IPAddress.Loopback },
        });

        Assert.Equal("203.0.113.1=1 | 203.0.113.1=0 | 429", await AnswersAsync(app, "203.0.113.1", "203.0.113.1:4711", "::ffff:203.0.113.1"));
        Assert.Equal("2001:db8::1=1 | 2001:db8::1=0 | 429", await AnswersAsync(app, "2001:db8::1", "2001:0DB8:0:0:0:0:0:1", "[2001:db8::1]:443"));
    }

    [Fact]
    public async Task A_malformed_X_Forwarded_For_from_a_trusted_proxy_leaves_the_connection_address()
    {
        await using var app = await StartBehindAsync(new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor,
            KnownProxies = { IPAddress.Loopback },
        });

        Assert.Equal("127.0.0.1=1 | 127.0.0.1=0 | 429", await AnswersAsync(app, "not-an-ip", "999.1.1.1", "203.0.113.1;rm -rf"));
    }

    /// <summary>An endpoint with the default limit <c>2/minute</c>, behind the forwarded-headers middleware when given options.</summary>
    private Task<TestApp> StartBehindAsync(ForwardedHeadersOptions? forwardedHeaders) =>
        StartAsync(
            o => o.DefaultLimits.Add("2/minute"),
            a => a.MapGet(Endpoint, RouteLimitProbe.Summary),
            beforeLimiting: forwardedHeaders is null ? null : a => a.UseForwardedHeaders(forwardedHeaders));

    /// <summary>One request per value of X-Forwarded-For (none for <see langword="null"/>): <c>key=remaining</c> for a 200, else the status.</summary>
    private static async Task<string> AnswersAsync(TestApp app, params string?[] forwardedFor)
    {
        var answers = new List<string>();
        foreach (var value in forwardedFor)
        {
            using var response = value is null
                ? await SendAsync(app.Client, Endpoint)
                : await SendAsync(app.Client, Endpoint, null, ("X-Forwarded-For", value));
            var body = await response.Content.ReadAsStringAsync();
            answers.Add(response.StatusCode == HttpStatusCode.OK
                ? body[(body.IndexOf('@', StringComparison.Ordinal) + 1)..]
                : ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
        }

        return string.Join(" | ", answers);
    }
}
