#!/usr/bin/env bash
# Overload: the limiter with its default options under far more concurrent connections than the two cores can serve, every
# request from a new client. Starts the bench server in one mode (default grains3: an embedded silo, headers on and the
# client named by header X-Client, no other setting changed: 50 ms owner-call timeout, default failure mode), warms it up,
# then runs wrk -t2 -c<connections> -d<seconds>s with bench/http/clients.lua (CLIENTS=new, COUNT_STATUS=1) and prints
# req/s, p50, p99, the server's CPU per request, responses by status class, the limiter's owner calls (BenchCounters.cs) and
# socket errors. Exits 1 if any response was 5xx (or the run produced no result), else 0.
#   bench/http/overload.sh [seconds=30] [connections=256]
#   MODE=grainsfarm WARMUP=5 bench/http/overload.sh 30 256
# Everything listens on 127.0.0.1 only; wrk stops by itself (and is killed 30 s after its duration at the latest).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-30}"
connections="${2:-256}"
mode="${MODE:-grains3}"
warmup="${WARMUP:-5}"
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 && "$seconds" -le 300 ]] || { echo "seconds must be 1..300" >&2; exit 2; }
[[ "$connections" =~ ^[0-9]+$ && "$connections" -ge 2 && "$connections" -le 4096 ]] || { echo "connections must be 2..4096" >&2; exit 2; }
[[ "$warmup" =~ ^[0-9]+$ && "$warmup" -le 60 ]] || { echo "WARMUP must be 0..60" >&2; exit 2; }
case "$mode" in
  memory3 | grains3 | grainsfarm | grains1) ;;
  *) echo "MODE must be a mode of this limiter: memory3, grains3, grainsfarm or grains1" >&2; exit 2 ;;
esac
source bench/http/lib.sh
require dotnet wrk curl ss
build_bench

port=$(free_port)
# No resilience argument (--grain-call-timeout-ms): the limiter's defaults are what is under test.
start_server "$mode" "$port" "$work/server.log" || { keep_work=1; exit 1; }
if [ "$warmup" -gt 0 ]; then wrk_run new "warm" "$warmup" "$port" "$connections" >/dev/null; fi

counters_before=$(read_counters "$port")
cpu_before=$(cpu_seconds "$server")
result=$(COUNT_STATUS=1 wrk_run new "run" "$seconds" "$port" "$connections" --latency) || true
cpu_after=$(cpu_seconds "$server")
counters_after=$(read_counters "$port")
echo "$result" >"$work/wrk.txt"
stop_server

requests=$(awk '/ requests in / { print $1 }' <<<"$result")
rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$result")
p50=$(awk '$1 == "50%" { print $2 }' <<<"$result")
p99=$(awk '$1 == "99%" { print $2 }' <<<"$result")
non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$result")
socket=$(sed -n 's/^ *Socket errors: *//p' <<<"$result")
errors5xx=$(status_count 5xx "$result")
cpu=$(awk -v a="$cpu_after" -v b="$cpu_before" -v n="${requests:-0}" 'BEGIN { if (n > 0) printf "%.1f", (a - b) * 1e6 / n; else print "-" }')

echo "overload: mode $mode (default options), wrk -t2 -c$connections -d${seconds}s, every request a new client," \
  "after a ${warmup}s warm-up; $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "requests: ${requests:--}, req/s: ${rps:--}, p50: ${p50:--}, p99: ${p99:--}, server CPU: $cpu µs/req"
echo "responses: 2xx: $(status_count 2xx "$result"), 429: $(status_count 429 "$result")," \
  "other 4xx: $(status_count 4xx "$result"), other: $(status_count other "$result"); wrk non-2xx or 3xx: ${non2xx:-0}"
if [[ "$counters_before $counters_after" =~ ^[0-9]+\ [0-9]+\ [0-9]+\ [0-9]+\ [0-9]+\ [0-9]+$ ]]; then
  read -r calls_before failures_before decided_before <<<"$counters_before"
  read -r calls_after failures_after decided_after <<<"$counters_after"
  calls=$((calls_after - calls_before))
  echo "owner calls: $calls ($((failures_after - failures_before)) not ok: timeout or error)" \
    "for $((decided_after - decided_before)) limited requests: $(one_per "$calls" $((decided_after - decided_before))) requests"
fi
echo "socket errors: ${socket:-none}"
echo "5xx: ${errors5xx:--}"

if [ -z "$rps" ] || [ -z "$errors5xx" ]; then
  echo "FAIL: wrk gave no result (output kept)" >&2
  keep_work=1
  exit 1
fi
if [ "$errors5xx" != 0 ]; then
  echo "FAIL: $errors5xx responses were 5xx" >&2
  keep_work=1
  exit 1
fi
echo "PASS: no 5xx"
