#!/usr/bin/env bash
# HTTP load: the same endpoint served without a limiter, with the in-memory store and with an embedded silo, one after
# the other in one run, each under the same bounded wrk load. Prints requests/s and latency side by side.
#   bench/http/load.sh [duration-seconds=10] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-10}"
connections="${2:-64}"
port=5090
command -v wrk >/dev/null || { echo "wrk is required (apt-get install -y wrk)" >&2; exit 1; }

dotnet build bench/Orleans.RateLimit.HttpBench -c Release -v quiet -nologo >/dev/null
dll=bench/Orleans.RateLimit.HttpBench/bin/Release/net10.0/Orleans.RateLimit.HttpBench.dll

printf '%-8s %12s %10s %10s %8s\n' mode "requests/s" "p50" "p99" ratio
baseline=""
for mode in none memory grains; do
  dotnet "$dll" --mode "$mode" --port "$port" >/tmp/httpbench-$mode.log 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
  # Warm-up (JIT, first grain activation), then the measured run; both bounded by wrk's duration.
  wrk -t2 -c"$connections" -d3s "http://127.0.0.1:$port/" >/dev/null
  out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency "http://127.0.0.1:$port/")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  [ -z "$baseline" ] && baseline="$rps"
  printf '%-8s %12s %10s %10s %8.2f%s\n' "$mode" "$rps" "$p50" "$p99" "$(echo "$rps / $baseline" | bc -l)" "${non2xx:+  non-2xx: $non2xx}"
  kill "$server"; wait "$server" 2>/dev/null || true
  trap - EXIT
done
