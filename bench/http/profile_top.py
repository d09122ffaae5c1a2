#!/usr/bin/env python3
"""Summarises a speedscope export of a dotnet-trace thread-time trace (bench/http/profile.sh).

The sampled thread-time profile samples every managed thread, running or not; each stack ends in CPU_TIME (running managed
code) or UNMANAGED_CODE_TIME (in native code: mostly waits, sometimes system calls or the allocator). Time in a wait (idle pool
threads, socket polling, sleeping timers, blocked locks, threads parked at a GC poll: suspended for a GC or for the sampler's
own stack walks) is set aside; what is left is "busy" time,
an estimate of where the CPU goes. Prints the share of busy time per category (a sample counts for every category its stack
matches) and the top frames by exclusive and by inclusive busy time.
    profile_top.py trace.speedscope.json [top=25]
"""
import json
import re
import sys
from collections import defaultdict

PSEUDO_LEAF = {"CPU_TIME", "UNMANAGED_CODE_TIME"}
IDLE_LEAF = re.compile(
    r"LowLevelLifoSemaphore\.WaitNative|WaitHandle\.WaitOneNoCheck|Monitor\.Wait\(|Thread\.Sleep|Interop\+Sys\.Read\("
    r"|Interop\+Sys\.WaitForSocketEvents|Interop\+Sys\.Poll|Thread\.SleepInternal|Console.*Read")
BLOCKED_LEAF = re.compile(r"Monitor\.Enter_Slowpath|Lock\.TryEnterSlow|Lock\.Enter")
GC_LEAF = re.compile(r"PollGC")
# Frames whose thread is parked for good: the socket engine's epoll loop and the debugger/diagnostics threads.
IDLE_ANYWHERE = re.compile(r"SocketAsyncEngine\.EventLoop|DiagnosticServer|Watcher!")

CATEGORIES = [
    ("grain activation (Catalog, directory, ActivationData start)",
     r"ActivationData\.(Start|ActivateAsync)|ActivationData\+<ActivateAsync>|Catalog\.|GrainDirectory|ActivationDataActivator|OnActivateAsync"),
    ("window state load/store (PartitionPersistence, Redis partition storage)",
     r"PartitionPersistence|RedisWindowPartitionStorage"),
    ("grain deactivation / collection", r"Deactivat|ActivationCollector"),
    ("window keys (WindowRef, RateLimitWindowKey.ToStorageKey escaping)", r"WindowRef|RateLimitWindowKey\.(ToStorageKey|AppendPart)"),
    ("LINQ under LimitEvaluator", None),  # computed specially
    ("LimitEvaluator (inclusive, incl. everything it awaits inline)", r"LimitEvaluator"),
    ("Task.WaitAsync / cancellation / call deadlines", r"WaitAsync|CancellationPromise|CallDeadlines|CancellationTokenSource|CancelAfter"),
    ("timers (TimerQueue, grain timers)", r"TimerQueue|TimerQueueTimer|GrainTimer|Orleans\.Timers"),
    ("Orleans serialization / copying", r"Orleans\.Serialization|Codec|Copier"),
    ("Orleans messaging / runtime client", r"Orleans\.Runtime\.Messaging|InsideRuntimeClient|MessageCenter|Orleans\.Networking|OutsideRuntimeClient"),
    ("Orleans scheduler (WorkItemGroup)", r"WorkItemGroup|ActivationTaskScheduler"),
    ("window logic (WindowPartitionGrain, window math)", r"Orleans\.RateLimit\.(Grains\.WindowPartitionGrain|FixedWindow|MovingWindow|SlidingWindowCounter|RateLimitWindow\b)"),
    ("Kestrel / HTTP pipeline", r"Microsoft\.AspNetCore\.Server\.Kestrel"),
    ("headers written by the limiter", r"RateLimitHeaderWriter|RateLimitResponseHook"),
    ("logging", r"Microsoft\.Extensions\.Logging"),
    ("reflection (custom attributes)", r"CustomAttribute"),
    ("Guid.NewGuid", r"Guid\.NewGuid"),
    ("lock slow path, spinning (Monitor/Lock)", r"Monitor\.Enter_Slowpath|Lock\.TryEnterSlow|Lock\.Enter"),
    ("StackExchange.Redis", r"StackExchange\.Redis"),
    ("thread-pool workers spinning before they sleep", None),  # computed specially
]

# Frames too generic to be worth listing among the top inclusive frames.
PLUMBING = re.compile(
    r"^(Process64|Threads|\(Non-Activities\)|Thread \(|Missing Symbol)|Thread\.StartCallback|ThreadPoolWorkQueue|PortableThreadPool"
    r"|ExecutionContext\.Run|AsyncMethodBuilderCore|AsyncTaskMethodBuilder|AsyncValueTaskMethodBuilder|AsyncStateMachineBox"
    r"|Task\.ExecuteWithThreadLocal|Task\.ExecuteEntryUnsafe|Task\.RunContinuations|Task\.FinishContinuations|Task`1.*TrySetResult"
    r"|TaskSchedulerAwaitTaskContinuation|AwaitTaskContinuation|ThreadPoolTypedWorkItemQueue|IThreadPoolWorkItem\.Execute"
    r"|ValueTaskSourceAsTask|\.Start\(!!0&\)|\.SetResult\(|\.SetExistingTaskResult|\.MoveNext\(\)$|TrySetResult|RunOrScheduleAction"
    r"|CompletionAction|Task\.InvokeMoveNext|Thread\.StartCore|ThreadPool\.")


LOCKING = re.compile(r"System\.Threading\.(Lock|Monitor|SpinWait|LowLevel)")


def short(name: str) -> str:
    name = re.sub(r"^[A-Za-z0-9_.]+!", "", name)
    name = re.sub(r"\(.*$", "()", name)
    return name[:110]


def main() -> None:
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    names = [frame["name"] for frame in data["shared"]["frames"]]
    short_names = [short(n) for n in names]
    pseudo = [n in PSEUDO_LEAF for n in names]
    idle_leaf = [bool(IDLE_LEAF.search(n)) for n in names]
    blocked_leaf = [bool(BLOCKED_LEAF.search(n)) for n in names]
    gc_leaf = [bool(GC_LEAF.search(n)) for n in names]
    idle_any = [bool(IDLE_ANYWHERE.search(n)) for n in names]
    compiled = [(label, re.compile(rx) if rx else None) for label, rx in CATEGORIES]
    matches = [[bool(rx.search(n)) if rx else False for _, rx in compiled] for n in names]
    is_linq = [n.startswith("System.Linq!") for n in names]
    is_evaluator = ["LimitEvaluator" in n for n in names]
    labels = [label for label, _ in CATEGORIES]
    linq_index = labels.index("LINQ under LimitEvaluator")
    spin_index = labels.index("thread-pool workers spinning before they sleep")
    pool_spin = ["LowLevelLifoSemaphore" in n for n in names]
    pool_loop = [n.endswith("WorkerThread.WorkerThreadStart()") for n in short_names]

    total = busy = native = blocked = gc_wait = 0.0
    exclusive = defaultdict(float)
    callers = defaultdict(lambda: defaultdict(float))
    # The nearest caller worth naming: a frame outside the runtime library and outside async plumbing.
    named = [not PLUMBING.search(n) and n != "()" for n in short_names]
    owned = [named[i] and not n.startswith("System.") for i, n in enumerate(short_names)]
    inclusive = defaultdict(float)
    category = defaultdict(float)
    for profile in data["profiles"]:
        stack = []
        last = None
        for event in profile["events"]:
            at = event["at"]
            if last is not None and stack and at > last:
                span = at - last
                total += span
                frames = stack[:-1] if pseudo[stack[-1]] and len(stack) > 1 else stack
                in_native = names[stack[-1]] == "UNMANAGED_CODE_TIME"
                leaf = frames[-1]
                if gc_leaf[leaf]:
                    gc_wait += span
                elif in_native and blocked_leaf[leaf]:
                    blocked += span
                elif not idle_leaf[leaf] and not any(idle_any[f] for f in frames):
                    busy += span
                    native += span if in_native else 0.0
                    exclusive[short_names[leaf]] += span
                    caller = next((short_names[f] for f in reversed(frames[:-1]) if owned[f]), None) or next(
                        (short_names[f] for f in reversed(frames[:-1]) if named[f] and not LOCKING.match(short_names[f])), "?")
                    callers[short_names[leaf]][caller] += span
                    for name in {short_names[f] for f in frames}:
                        inclusive[name] += span
                    hit = [False] * len(CATEGORIES)
                    seen_evaluator = False
                    hit[spin_index] = pool_loop[leaf] or any(pool_spin[f] for f in frames)
                    for f in frames:
                        seen_evaluator = seen_evaluator or is_evaluator[f]
                        if seen_evaluator and is_linq[f]:
                            hit[linq_index] = True
                        for i, m in enumerate(matches[f]):
                            hit[i] = hit[i] or m
                    for i, h in enumerate(hit):
                        if h:
                            category[i] += span
            last = at
            if event["type"] == "O":
                stack.append(event["frame"])
            elif stack:
                stack.pop()

    if busy == 0:
        print("no busy samples")
        return
    print(f"busy thread time {busy / 1000:.1f} s ({100 * native / busy:.0f}% of it in native code) of {total / 1000:.1f} s sampled;"
          f" besides: parked at a GC poll (GC or sampler suspension) {gc_wait / 1000:.1f} s, blocked on a lock {blocked / 1000:.1f} s."
          " Percentages below are of busy time.")
    print()
    print("share of busy time by category (inclusive; categories overlap):")
    for i, (label, _) in sorted(enumerate(CATEGORIES), key=lambda x: -category[x[0]]):
        if category[i] / busy >= 0.001:
            print(f"  {100 * category[i] / busy:5.1f}%  {label}")
    print()
    print(f"top {top} frames by exclusive busy time, each with its main callers (nearest frame outside System.*):")
    for name, span in sorted(exclusive.items(), key=lambda x: -x[1])[:top]:
        print(f"  {100 * span / busy:5.1f}%  {name}")
        for caller, caller_span in sorted(callers[name].items(), key=lambda x: -x[1])[:2]:
            if caller_span / span >= 0.1:
                print(f"           <- {100 * caller_span / span:3.0f}% {caller}")
    print()
    print(f"top {top} frames by inclusive busy time (async and thread-pool plumbing left out):")
    shown = 0
    for name, span in sorted(inclusive.items(), key=lambda x: -x[1]):
        if PLUMBING.search(name) or name == "()":
            continue
        print(f"  {100 * span / busy:5.1f}%  {name}")
        shown += 1
        if shown >= top:
            break


if __name__ == "__main__":
    main()
