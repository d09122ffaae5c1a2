using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// The window checks of one phase, in the order they are decided: meta limits first (a refusal stops the phase), then the
/// phase's limits, shortest granularity first. Sent to the store together, so a request's windows travel in one call per owner.
/// </summary>
internal sealed class PhaseChecks(int capacity)
{
    private WindowCheck[] _checks = new WindowCheck[Math.Max(capacity, 1)];
    private Entry[] _entries = new Entry[Math.Max(capacity, 1)];

    public int Count { get; private set; }

    public ReadOnlyMemory<WindowCheck> Checks => _checks.AsMemory(0, Count);

    public ref readonly WindowCheck this[int index] => ref _checks[index];

    /// <summary>The limit of check <paramref name="index"/>.</summary>
    public ResolvedLimit Limit(int index) => _entries[index].Resolved;

    /// <summary>Whether check <paramref name="index"/> is a meta limit's.</summary>
    public bool IsMeta(int index) => _entries[index].IsMeta;

    public void AddMeta(ResolvedLimit meta, RateLimitWindowKey window, int cost) =>
        Add(new WindowCheck(meta.Definition, window, WindowOperation.Test, cost, StopIfRefused: true), meta, isMeta: true);

    public void AddLimit(ResolvedLimit limit, RateLimitWindowKey window, int cost, bool stopIfRefused) =>
        Add(new WindowCheck(limit.Definition, window, limit.Definition.DeductWhen is null ? WindowOperation.Hit : WindowOperation.Test, cost, stopIfRefused), limit, isMeta: false);

    private void Add(WindowCheck check, ResolvedLimit resolved, bool isMeta)
    {
        if (Count == _checks.Length)
        {
            Array.Resize(ref _checks, Count * 2);
            Array.Resize(ref _entries, Count * 2);
        }

        _checks[Count] = check;
        _entries[Count] = new Entry(resolved, isMeta);
        Count++;
    }

    private readonly record struct Entry(ResolvedLimit Resolved, bool IsMeta);
}
