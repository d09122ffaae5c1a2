using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>One limit as it was evaluated for the current request, with the state of its window afterwards.</summary>
public sealed class RequestLimit
{
    internal RequestLimit(LimitDefinition definition, RateLimitWindowKey window, bool breached, WindowStats stats)
    {
        Definition = definition;
        Window = window;
        Limit = window.Limit;
        Key = window.Key;
        Scope = window.Scope;
        Shared = definition.Shared;
        Breached = breached;
        Remaining = stats.Remaining;
        ResetAt = stats.ResetAt;
    }

    /// <summary>The limit; its <see cref="RateLimitItem.ToString"/> is the text of the default 429, e.g. <c>1 per 1 minute</c>.</summary>
    public RateLimitItem Limit { get; }

    /// <summary>Whom the limit counts: the value its key selector returned for this request, e.g. a client address.</summary>
    public string Key { get; }

    /// <summary>
    /// What the limit counts for: the endpoint (plus <c>:scope</c> and <c>:METHOD</c> where they apply), a shared scope name,
    /// <c>global</c> for application limits or <c>meta</c> for meta limits.
    /// </summary>
    public string Scope { get; }

    /// <summary>Whether the limit's counter is shared between endpoints (shared and application limits, meta limits).</summary>
    public bool Shared { get; }

    /// <summary>Whether this request broke the limit.</summary>
    public bool Breached { get; }

    /// <summary>Units left in the window after this request's deductions.</summary>
    public long Remaining { get; internal set; }

    /// <summary>When the window resets (fixed window), its oldest hit ages out (moving window) or its next unit frees up (sliding-window counter).</summary>
    public DateTimeOffset ResetAt { get; internal set; }

    /// <summary>The limit's settings, for counting it again after the endpoint ran.</summary>
    internal LimitDefinition Definition { get; }

    /// <summary>The window the limit was counted in.</summary>
    internal RateLimitWindowKey Window { get; }

    internal void Update(WindowStats stats)
    {
        Remaining = stats.Remaining;
        ResetAt = stats.ResetAt;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Limit} ({Key}) at {Scope}";
}
