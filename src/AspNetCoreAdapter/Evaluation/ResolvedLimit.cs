namespace Orleans.RateLimit.AspNetCore;

/// <summary>One limit item of a definition, ready to count; a definition like <c>1/second;10/minute</c> resolves to two.</summary>
internal readonly record struct ResolvedLimit(LimitDefinition Definition, RateLimitItem Item);
