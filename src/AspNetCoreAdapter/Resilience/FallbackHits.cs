using System.Collections.Concurrent;
using Orleans.RateLimit.Grains;

namespace Orleans.RateLimit.AspNetCore;

/// <summary>
/// Hits this node admitted in memory because their windows' owners could not be reached, kept until the owners answer
/// again and then added to their windows, one call per owner, so that a window does not admit them a second time.
/// </summary>
/// <remarks>
/// Bounded: at most <see cref="MaxWindows"/> windows are remembered (an outage under a flood of new clients would
/// otherwise grow without end); hits of windows past that, and hits whose period has ended before the owner answers, are
/// not carried over, which loosens the limit by them as a fallback without this did.
/// </remarks>
internal sealed class FallbackHits
{
    internal const int MaxWindows = 100_000;

    /// <summary>How often an owner that still fails is asked again while others answer.</summary>
    internal static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<WindowRef, Pending> _pending = new();
    private readonly IRateLimitStore _owners;
    private readonly int _partitions;
    private readonly TimeProvider _time;
    private readonly RateLimitMetrics _metrics;
    private long _nextAttemptTicks;
    private int _handingOver;

    public FallbackHits(IRateLimitStore owners, int partitions, TimeProvider time, RateLimitMetrics metrics)
    {
        _owners = owners;
        _partitions = partitions;
        _time = time;
        _metrics = metrics;
    }

    /// <summary>How many windows have hits waiting for their owners; for tests and diagnostics.</summary>
    public int Count => _pending.Count;

    /// <summary>Remembers that <paramref name="check"/> was admitted in memory at <paramref name="now"/>.</summary>
    public void Admitted(in WindowCheck check, DateTimeOffset now)
    {
        if (check.Operation != WindowOperation.Hit || check.Cost == 0 || check.Window.Strategy == RateLimitStrategy.MovingWindow)
        {
            return;
        }

        if (!TryAdd(check, check.Cost, now.UtcTicks))
        {
            _metrics.FallbackHitsNotCarried(check.Cost);
        }
    }

    /// <summary>
    /// Owners answer again: hands the waiting hits over in the background, at most one hand-over at a time and one a
    /// <see cref="RetryInterval"/>, so that an owner that still fails costs no call per request.
    /// </summary>
    public void OwnersAnswered()
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        var ticks = _time.GetUtcNow().UtcTicks;
        if (ticks < Volatile.Read(ref _nextAttemptTicks) || Interlocked.Exchange(ref _handingOver, 1) == 1)
        {
            return;
        }

        Volatile.Write(ref _nextAttemptTicks, ticks + RetryInterval.Ticks);
        _ = HandOverAsync();
    }

    private async Task HandOverAsync()
    {
        try
        {
            var byOwner = new Dictionary<int, List<WindowCheck>>();
            var ticks = _time.GetUtcNow().UtcTicks;
            foreach (var (id, pending) in _pending)
            {
                long units;
                lock (pending)
                {
                    pending.HandedOver = true;
                    units = pending.Units;
                }

                _pending.TryRemove(new KeyValuePair<WindowRef, Pending>(id, pending));
                if (units > 0 && pending.FirstTicks + pending.Origin.Window.Limit.Period.Ticks <= ticks)
                {
                    _metrics.FallbackHitsNotCarried(units);
                }
                else if (units > 0)
                {
                    var owner = WindowPartition.IndexOf(pending.Origin.Window.Key, _partitions);
                    if (!byOwner.TryGetValue(owner, out var checks))
                    {
                        byOwner[owner] = checks = [];
                    }

                    checks.Add(pending.Origin with { Cost = (int)Math.Min(units, int.MaxValue), LeasePeriodStartTicks = pending.FirstTicks });
                }
            }

            await Task.WhenAll(byOwner.Values.Select(HandOverAsync)).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _handingOver, 0);
        }
    }

    /// <summary>Hands one owner its windows' hits; those it did not take wait for the next hand-over.</summary>
    private async Task HandOverAsync(List<WindowCheck> checks)
    {
        var outcomes = new StoreOutcome[checks.Count];
        var decided = await _owners.DecideAsync(checks.ToArray(), outcomes).ConfigureAwait(false);
        for (var i = 0; i < checks.Count; i++)
        {
            if (i >= decided || outcomes[i].Kind != StoreOutcomeKind.Decided)
            {
                // Not taken: it waits for the next hand-over, within the same bound as hits admitted since.
                if (!TryAdd(checks[i], checks[i].Cost, checks[i].LeasePeriodStartTicks))
                {
                    _metrics.FallbackHitsNotCarried(checks[i].Cost);
                }
            }
            else
            {
                _metrics.FallbackHitsHandedOver(checks[i].Cost);
            }
        }
    }

    /// <summary>Adds <paramref name="units"/> to the window's waiting hits, unless <see cref="MaxWindows"/> windows wait already.</summary>
    /// <param name="check">A check of the window: the hit admitted, or the absorb that did not reach the owner.</param>
    /// <param name="units">The hits.</param>
    /// <param name="firstTicks">When the first of them was admitted.</param>
    private bool TryAdd(in WindowCheck check, long units, long firstTicks)
    {
        var id = new WindowRef(check.Window);
        while (true)
        {
            if (!_pending.TryGetValue(id, out var pending))
            {
                if (_pending.Count >= MaxWindows)
                {
                    return false;
                }

                pending = _pending.GetOrAdd(id, static (_, s) => new Pending(s.check, s.firstTicks), (check, firstTicks));
            }

            lock (pending)
            {
                if (!pending.HandedOver)
                {
                    pending.Units += units;
                    pending.FirstTicks = Math.Min(pending.FirstTicks, firstTicks);
                    return true;
                }
            }
        }
    }

    private sealed class Pending(WindowCheck admitted, long firstTicks)
    {
        /// <summary>The check that gives the hits to the owner: the first one admitted, as an absorb of the window.</summary>
        public WindowCheck Origin { get; } = admitted with
        {
            Operation = WindowOperation.Absorb,
            Cost = 0,
            StopIfRefused = false,
            StopIfAnyRefused = false,
            LeaseSequence = 0,
        };

        public long FirstTicks { get; set; } = firstTicks;

        public long Units { get; set; }

        /// <summary>Set once a hand-over took the units: hits admitted after it start a new entry.</summary>
        public bool HandedOver { get; set; }
    }
}
