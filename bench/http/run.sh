#!/usr/bin/env bash
# HTTP benchmark, side by side: the same endpoint served without a limiter, with ASP.NET Core's limiter, with this limiter
# (in-memory store, embedded silo) and with a Redis-per-request limiter, each under the same bounded wrk load, for two client
# populations. Prints one markdown table per population, notes (owner calls of the grain modes, Redis calls) and a summary
# of the leased-budget targets, and writes them to $OUT (default bench/http/last-run.md).
#   bench/http/run.sh [duration-seconds=10] [connections=64]
#   MODES="none grains3" POPULATIONS=new bench/http/run.sh 5 64
# Modes: see bench/Orleans.RateLimit.HttpBench/BenchModes.cs. Populations: known (1,000 clients picked at random per
# request), new (a new client on every request). Everything listens on 127.0.0.1 only.
# The summary (known clients) needs modes none, aspnet, grains3 and grainsfarm; a target it can't compute reads "-".
# STRICT=1 makes a FAIL in the summary fail the script too. COUNT_STATUS=1 counts responses by status class in wrk
# (5xx apart from the rest; wrk's response hook makes wrk slower) and notes the counts per mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-10}"
connections="${2:-64}"
modes="${MODES:-none aspnet memory3 grains3 grainsfarm redis3 grains1}"
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

windows_per_request() { # mode: how many windows the limiter decides for each request
  case "$1" in grains1) echo 1 ;; *) echo 3 ;; esac
}

declare -A rps_of cpu_of owner_calls_of decisions_of

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
    counters_before=""
    if [[ "$mode" == grains* ]]; then counters_before=$(read_counters "$port"); fi
    cpu_before=$(cpu_seconds "$server")
    if [ "$mode" = redis3 ]; then redis_before=$(cpu_seconds "$redis_pid"); fi
    result=$(wrk_run "$population" "run-$mode" "$duration" "$port" "$connections" --latency)
    cpu_after=$(cpu_seconds "$server")
    if [ "$mode" = redis3 ]; then redis_after=$(cpu_seconds "$redis_pid"); fi
    counters_after=""
    if [ -n "$counters_before" ]; then counters_after=$(read_counters "$port"); fi
    echo "$result" >"$work/$population-$mode.wrk"

    requests=$(awk '/ requests in / { print $1 }' <<<"$result")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$result")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$result")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$result")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$result")
    socket=$(sed -n 's/^ *Socket errors: *//p' <<<"$result")
    if [ "$mode" = none ]; then baseline="$rps"; fi
    ratio=$(awk -v r="${rps:-0}" -v b="$baseline" 'BEGIN { if (b > 0) printf "%.2f", r / b; else print "-" }')
    cpu=$(per_request "$cpu_after" "$cpu_before" "$requests")
    rps_of[$population/$mode]="${rps:-}"
    cpu_of[$population/$mode]="$cpu"
    echo "| $mode | ${rps:--} | ${p50:--} | ${p99:--} | $cpu | $ratio" \
      "| ${non2xx:-0} | ${socket:-} |" | tee -a "$out_file"
    if [ "${non2xx:-0}" != 0 ] || [ -z "$rps" ]; then failed=1; fi
    if [ "${COUNT_STATUS:-}" = 1 ]; then
      echo "$mode/$population: responses 2xx $(status_count 2xx "$result"), 429 $(status_count 429 "$result")," \
        "other 4xx $(status_count 4xx "$result"), 5xx $(status_count 5xx "$result")" >>"$work/notes"
      if [ "$(status_count 5xx "$result")" != 0 ]; then failed=1; fi
    fi

    if [[ "$counters_before $counters_after" =~ ^[0-9]+\ [0-9]+\ [0-9]+\ [0-9]+\ [0-9]+\ [0-9]+$ ]]; then
      # Owner calls over the measured run, from the server's own count of the limiter's metrics (BenchCounters.cs).
      read -r calls_before failures_before decided_before <<<"$counters_before"
      read -r calls_after failures_after decided_after <<<"$counters_after"
      calls=$((calls_after - calls_before))
      decided=$((decided_after - decided_before))
      decisions=$((decided * $(windows_per_request "$mode")))
      owner_calls_of[$population/$mode]="$calls"
      decisions_of[$population/$mode]="$decisions"
      if [ "$decided" = 0 ]; then
        echo "$mode/$population: owner calls per request -: the limiter's meter recorded no request" \
          "($calls owner calls, wrk: ${requests:-?} requests)" >>"$work/notes"
      else
        echo "$mode/$population: $calls owner calls ($((failures_after - failures_before)) not ok) for $decided limited" \
          "requests (wrk: ${requests:-?}): $(one_per "$calls" "$decided") requests, $(one_per "$calls" "$decisions") window" \
          "decisions ($(windows_per_request "$mode") per request)" >>"$work/notes"
      fi
    fi

    if [ "$mode" = redis3 ]; then
      calls=$(redis-cli -p "$redis_port" info commandstats | tr -d '\r' | awk -F'[=,:]' '$1 == "cmdstat_evalsha" { print $3 }')
      echo "redis3/$population: ${calls:-0} EVALSHA calls (warm-up and run), $(redis-cli -p "$redis_port" dbsize) keys;" \
        "redis-server CPU $(per_request "$redis_after" "$redis_before" "$requests") µs/req on top of the server's" >>"$work/notes"
    fi
    stop_server
  done
done

if [ -s "$work/notes" ]; then { echo; cat "$work/notes"; } | tee -a "$out_file"; fi

# The leased-budget targets, known clients only: a verdict needs all the modes it names, else it reads "-".
verdict() { # value op bound: PASS, FAIL, or - when value is not a number
  awk -v v="$1" -v op="$2" -v b="$3" 'BEGIN {
    if (v !~ /^-?[0-9.]+$/) print "-"
    else if ((op == ">=" && v + 0 >= b + 0) || (op == "<=" && v + 0 <= b + 0)) print "PASS"
    else print "FAIL"
  }'
}
ratio_of() { # numerator denominator: numerator / denominator to 2 decimals, "-" when either is missing or the denominator is not positive
  awk -v n="$1" -v d="$2" 'BEGIN { if (n ~ /^-?[0-9.]+$/ && d ~ /^-?[0-9.]+$/ && d + 0 > 0) printf "%.2f", n / d; else print "-" }'
}
added() { # cpu baseline: cpu - baseline, "-" when either is missing
  awk -v c="$1" -v b="$2" 'BEGIN { if (c ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.1f", c - b; else print "-" }'
}
k=known
rps_ratio=$(ratio_of "${rps_of[$k/grains3]:-}" "${rps_of[$k/aspnet]:-}")
grains_added=$(added "${cpu_of[$k/grains3]:-}" "${cpu_of[$k/none]:-}")
aspnet_added=$(added "${cpu_of[$k/aspnet]:-}" "${cpu_of[$k/none]:-}")
cpu_ratio=$(ratio_of "$grains_added" "$aspnet_added")
farm_ratio=$(ratio_of "${rps_of[$k/grainsfarm]:-}" "${rps_of[$k/grains3]:-}")
farm_calls="${owner_calls_of[$k/grainsfarm]:-}"
farm_decisions="${decisions_of[$k/grainsfarm]:-}"
# Owner calls per window decision, against 1 per 50; unknown (-) until the limiter records both instruments.
farm_per_decision=$(awk -v c="$farm_calls" -v d="$farm_decisions" 'BEGIN { if (c ~ /^[0-9]+$/ && d ~ /^[0-9]+$/ && d > 0) printf "%.4f", c / d; else print "-" }')
v1=$(verdict "$rps_ratio" ">=" 0.95)
v2=$(verdict "$cpu_ratio" "<=" 1.5)
v3=$(verdict "$farm_ratio" ">=" 0.95)
v4=$(verdict "$farm_per_decision" "<=" 0.02)
{
  echo
  echo "## Summary (1,000 known clients)"
  echo
  echo "- grains3 req/s / aspnet req/s: ${rps_of[$k/grains3]:--} / ${rps_of[$k/aspnet]:--} = $rps_ratio (target ≥ 0.95): $v1"
  echo "- CPU added over none, (grains3 − none) / (aspnet − none): $grains_added / $aspnet_added µs/req = $cpu_ratio" \
    "(target ≤ 1.5): $v2"
  echo "- grainsfarm req/s / grains3 req/s: ${rps_of[$k/grainsfarm]:--} / ${rps_of[$k/grains3]:--} = $farm_ratio" \
    "(target ≥ 0.95): $v3"
  echo "- grainsfarm owner calls per window decision: ${farm_calls:--} / ${farm_decisions:--} =" \
    "$(one_per "${farm_calls:--}" "${farm_decisions:--}") (target ≤ 1 per 50): $v4"
} | tee -a "$out_file"
if [ "${STRICT:-}" = 1 ] && [[ " $v1 $v2 $v3 $v4 " == *" FAIL "* ]]; then failed=1; fi

if [ "$failed" != 0 ]; then keep_work=1; fi
exit "$failed"
