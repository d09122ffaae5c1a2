#!/usr/bin/env bash
# Runs one mode of the HTTP bench under wrk load and takes a sampled thread-time trace of the server with dotnet-trace for a
# bounded time, then prints where the busy time goes (bench/http/profile_top.py) and, from dotnet-counters over the same time,
# how much of the time the process was paused for GC and how much it allocated. Traces are kept in bench/http/profiles/.
#   bench/http/profile.sh [mode=grains3] [population=new] [seconds=10] [connections=64]
# Needs dotnet-trace and dotnet-counters (dotnet tool install -g dotnet-trace; dotnet tool install -g dotnet-counters). Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-grains3}"
population="${2:-new}"
seconds="${3:-10}"
connections="${4:-64}"
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 && "$seconds" -le 300 ]] || { echo "seconds must be 1..300" >&2; exit 2; }
export PATH="$PATH:$HOME/.dotnet/tools"
source bench/http/lib.sh
require dotnet wrk curl ss dotnet-trace dotnet-counters python3
build_bench
if [ "$mode" = redis3 ]; then require redis-server redis-cli; start_redis; fi

port=$(free_port)
start_server "$mode" "$port" "$work/server.log" || { keep_work=1; exit 1; }
wrk_run "$population" "warm" 3 "$port" "$connections" >/dev/null

out_dir=bench/http/profiles
mkdir -p "$out_dir"
trace="$out_dir/$mode-$population-$(date -u +%Y%m%dT%H%M%S).nettrace"
# The load outlasts the trace by a few seconds on both sides.
wrk_run "$population" "run" $((seconds + 5)) "$port" "$connections" >"$work/wrk.txt" &
load_pid=$!
sleep 1
span="$(printf '00:%02d:%02d:%02d' $((seconds / 3600)) $((seconds % 3600 / 60)) $((seconds % 60)))"
timeout $((seconds + 30)) dotnet-counters collect -p "$server" --refresh-interval 1 --duration "$span" -o "$work/counters.csv" \
  --counters "System.Runtime[dotnet.gc.pause.time,dotnet.gc.heap.total_allocated,dotnet.gc.collections]" >/dev/null 2>&1 &
counters_pid=$!
timeout $((seconds + 120)) dotnet-trace collect -p "$server" --profile dotnet-sampled-thread-time --duration "$span" \
  --format Speedscope -o "$trace" >"$work/trace.log" 2>&1 || { cat "$work/trace.log" >&2; keep_work=1; exit 1; }
wait "$counters_pid" || true
wait "$load_pid" || true
load_pid=""
stop_server

rps=$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk.txt")
echo "mode $mode, population $population, wrk -t2 -c$connections: $rps req/s under tracing"
if [ -s "$work/counters.csv" ]; then
  awk -F, -v rps="${rps:-0}" '
    $3 ~ /^dotnet.gc.pause.time/ { pause += $5; n++ }
    $3 ~ /^dotnet.gc.heap.total_allocated/ { bytes += $5; m++ }
    $3 ~ /^dotnet.gc.collections/ { split($3, g, "generation="); sub(/].*/, "", g[2]); gcs[g[2]] += $5; k[g[2]]++ }
    function per(gen) { return k[gen] ? gcs[gen] / k[gen] : 0 }
    END {
      if (n > 0) printf "GC (dotnet-counters, per second): paused %.1f%%, %.1f/%.1f/%.2f gen0/1/2 collections", 100 * pause / n, per("gen0"), per("gen1"), per("gen2")
      if (m > 0) printf ", %.0f MB allocated%s", bytes / m / 1e6, (rps > 0 ? sprintf(" (%.1f KB per request)", bytes / m / rps / 1024) : "")
      print ""
    }' "$work/counters.csv"
fi
echo "trace: $trace (open the .speedscope.json in https://www.speedscope.app or PerfView)"
echo
python3 bench/http/profile_top.py "${trace%.nettrace}.speedscope.json" 25
