#!/usr/bin/env bash
# HTTP benchmark, side by side: the same endpoint served without a limiter, with ASP.NET Core's limiter, with this limiter
# (in-memory store, embedded silo) and with a Redis-per-request limiter, each under the same bounded wrk load, for two client
# populations. Prints one markdown table per population and writes them to $OUT (default bench/http/last-run.md).
#   bench/http/run.sh [duration-seconds=10] [connections=64]
#   MODES="none grains3" POPULATIONS=new bench/http/run.sh 5 64
# Modes: see bench/Orleans.RateLimit.HttpBench/BenchModes.cs. Populations: known (1,000 clients picked at random per
# request), new (a new client on every request). Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-10}"
connections="${2:-64}"
modes="${MODES:-none aspnet memory3 grains3 redis3 grains1}"
populations="${POPULATIONS:-known new}"
warmup="${WARMUP:-10}"
out_file="${OUT:-bench/http/last-run.md}"
[[ "$duration" =~ ^[0-9]+$ && "$connections" =~ ^[0-9]+$ ]] || { echo "usage: $0 [duration-seconds] [connections]" >&2; exit 2; }
source bench/http/lib.sh
require dotnet wrk curl ss
build_bench
if [[ " $modes " == *" redis3 "* ]]; then
  require redis-server redis-cli
  start_redis
fi

per_request() { # after before requests: microseconds per request
  awk -v a="$1" -v b="$2" -v n="${3:-0}" 'BEGIN { if (n > 0) printf "%.1f", (a - b) * 1e6 / n; else print "-" }'
}

{
  echo "# HTTP benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores," \
    "wrk -t2 -c$connections -d${duration}s after a ${warmup}s warm-up; CPU is the server process' user+system time."
} | tee "$out_file"

failed=0
for population in $populations; do
  {
    echo
    echo "## Population: $population"
    echo
    echo "| mode | req/s | p50 | p99 | CPU µs/req | vs none | non-2xx | socket errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
  } | tee -a "$out_file"
  baseline=""
  for mode in $modes; do
    if [ "$mode" = redis3 ]; then
      redis-cli -p "$redis_port" flushall >/dev/null
      redis-cli -p "$redis_port" config resetstat >/dev/null
    fi
    port=$(free_port)
    if ! start_server "$mode" "$port" "$work/$population-$mode.log"; then
      echo "| $mode | did not start | | | | | | |" | tee -a "$out_file"
      failed=1
      continue
    fi

    wrk_run "$population" "warm-$mode" "$warmup" "$port" "$connections" >/dev/null
    cpu_before=$(cpu_seconds "$server")
    if [ "$mode" = redis3 ]; then redis_before=$(cpu_seconds "$redis_pid"); fi
    result=$(wrk_run "$population" "run-$mode" "$duration" "$port" "$connections" --latency)
    cpu_after=$(cpu_seconds "$server")
    if [ "$mode" = redis3 ]; then redis_after=$(cpu_seconds "$redis_pid"); fi
    echo "$result" >"$work/$population-$mode.wrk"

    requests=$(awk '/ requests in / { print $1 }' <<<"$result")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$result")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$result")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$result")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$result")
    socket=$(sed -n 's/^ *Socket errors: *//p' <<<"$result")
    if [ "$mode" = none ]; then baseline="$rps"; fi
    ratio=$(awk -v r="${rps:-0}" -v b="$baseline" 'BEGIN { if (b > 0) printf "%.2f", r / b; else print "-" }')
    echo "| $mode | ${rps:--} | ${p50:--} | ${p99:--} | $(per_request "$cpu_after" "$cpu_before" "$requests") | $ratio" \
      "| ${non2xx:-0} | ${socket:-} |" | tee -a "$out_file"
    if [ "${non2xx:-0}" != 0 ] || [ -z "$rps" ]; then failed=1; fi

    if [ "$mode" = redis3 ]; then
      calls=$(redis-cli -p "$redis_port" info commandstats | tr -d '\r' | awk -F'[=,:]' '$1 == "cmdstat_evalsha" { print $3 }')
      echo "redis3/$population: ${calls:-0} EVALSHA calls (warm-up and run), $(redis-cli -p "$redis_port" dbsize) keys;" \
        "redis-server CPU $(per_request "$redis_after" "$redis_before" "$requests") µs/req on top of the server's" >>"$work/notes"
    fi
    stop_server
  done
done

if [ -s "$work/notes" ]; then { echo; cat "$work/notes"; } | tee -a "$out_file"; fi
if [ "$failed" != 0 ]; then keep_work=1; fi
exit "$failed"
