using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// The window checks of a request, phase by phase, in the order they are decided: each phase's meta limits first (a refusal
/// stops everything), then its limits, shortest granularity first; a phase's last check stops the rest when any check so
/// far refused. Sent to the store together, so a request's windows travel in one call per owner.
/// </summary>
/// <remarks>
/// A meta limit this node already knows to be blocking the client ends the checks where it stands: what comes before it
/// is still decided (the original tests meta limits in order), nothing after it is.
/// </remarks>
internal sealed class RequestChecks
{
    private const int MaxPhases = 2;

    private readonly int[] _phaseEnds = new int[MaxPhases];
    private WindowCheck[] _checks;
    private Entry[] _entries;

    public RequestChecks(int capacity)
    {
        _checks = new WindowCheck[Math.Max(capacity, 1)];
        _entries = new Entry[Math.Max(capacity, 1)];
    }

    public int Count { get; private set; }

    /// <summary>How many phases were added.</summary>
    public int Phases { get; private set; }

    /// <summary>The meta limit known to be blocking, if the checks end with one, and the phase it belongs to.</summary>
    public (KnownBlock Block, int Phase)? Blocked { get; private set; }

    public ReadOnlyMemory<WindowCheck> Checks => _checks.AsMemory(0, Count);

    public ref readonly WindowCheck this[int index] => ref _checks[index];

    /// <summary>Where phase <paramref name="phase"/>'s checks end (exclusive).</summary>
    public int PhaseEnd(int phase) => _phaseEnds[phase];

    /// <summary>The limit of check <paramref name="index"/>.</summary>
    public ResolvedLimit Limit(int index) => _entries[index].Resolved;

    /// <summary>Whether check <paramref name="index"/> is a meta limit's.</summary>
    public bool IsMeta(int index) => _entries[index].IsMeta;

    public void StartPhase()
    {
        if (Phases == MaxPhases)
        {
            throw new InvalidOperationException($"A request has at most {MaxPhases} phases.");
        }

        Phases++;
        _phaseEnds[Phases - 1] = Count;
    }

    /// <summary>Ends the phase: when a next phase follows, its checks are decided only if none of this one's refused.</summary>
    public void EndPhase(bool anotherFollows)
    {
        _phaseEnds[Phases - 1] = Count;
        if (anotherFollows && Count > 0)
        {
            _checks[Count - 1] = _checks[Count - 1] with { StopIfAnyRefused = true };
        }
    }

    public void AddMeta(ResolvedLimit meta, RateLimitWindowKey window, int cost) =>
        Add(new WindowCheck(meta.Definition, window, WindowOperation.Test, cost, StopIfRefused: true), meta, isMeta: true);

    public void AddLimit(ResolvedLimit limit, RateLimitWindowKey window, int cost, bool stopIfRefused) =>
        Add(new WindowCheck(limit.Definition, window, limit.Definition.DeductWhen is null ? WindowOperation.Hit : WindowOperation.Test, cost, stopIfRefused), limit, isMeta: false);

    /// <summary>Ends the checks with a meta limit known to be blocking: nothing is added after it.</summary>
    public void EndWithKnownBlock(KnownBlock block)
    {
        _phaseEnds[Phases - 1] = Count;
        Blocked = (block, Phases - 1);
    }

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
        _phaseEnds[Phases - 1] = Count;
    }

    private readonly record struct Entry(ResolvedLimit Resolved, bool IsMeta);
}

/// <summary>A meta limit this node already knows to be blocking the client, and until when.</summary>
internal readonly record struct KnownBlock(ResolvedLimit Meta, RateLimitWindowKey Window, WindowStats Stats);
