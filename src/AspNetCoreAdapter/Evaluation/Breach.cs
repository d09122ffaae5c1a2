using Microsoft.AspNetCore.Http;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>Why a request is rejected: the reported limit, the text of the 429 and a callback's response, if any.</summary>
internal sealed record Breach(RequestLimit Limit, string Description, IResult? Response);
