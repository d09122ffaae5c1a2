# Shared by run.sh, check.sh, overload.sh and profile.sh (sourced, from the repository root). Everything listens on 127.0.0.1 only.
# Sets: work (a temporary directory, removed at exit unless keep_work is set), dll, server (pid of the bench server),
# redis_pid, redis_port, load_pid (a background load, stopped at exit).

work=$(mktemp -d /tmp/httpbench.XXXXXX)
dll=bench/Orleans.RateLimit.HttpBench/bin/Release/net10.0/Orleans.RateLimit.HttpBench.dll
server=""
redis_pid=""
redis_port=""
keep_work=""
load_pid=""

require() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
  done
}

stop_pid() { # pid: TERM, up to 5 s, then KILL
  local pid="$1"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  if [ -n "$load_pid" ]; then stop_pid "$load_pid"; fi
  if [ -n "$server" ]; then stop_pid "$server"; fi
  if [ -n "$redis_pid" ]; then stop_pid "$redis_pid"; fi
  server="" redis_pid="" load_pid=""
  if [ -z "$keep_work" ]; then rm -rf "$work"; else echo "Server logs and wrk output kept in $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { # a loopback TCP port below the ephemeral range that no socket uses and this script has not handed out yet
  local low port
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in $(seq 200); do
    port=$((10000 + RANDOM % (low - 10000)))
    grep -qx "$port" "$work/ports" 2>/dev/null && continue
    if ! ss -Htan "( sport = :$port or dport = :$port )" | grep -q .; then
      echo "$port" >>"$work/ports"
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

cpu_seconds() { # utime + stime (fields 14 and 15 of /proc/<pid>/stat) in seconds
  awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / tck }' "/proc/$1/stat"
}

build_bench() {
  echo "Building bench/Orleans.RateLimit.HttpBench (Release)..." >&2
  dotnet build bench/Orleans.RateLimit.HttpBench -c Release -v quiet -nologo >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; exit 1; }
}

start_redis() {
  redis_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --daemonize no --logfile "$work/redis.log" &
  redis_pid=$!
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "redis-server did not start" >&2
  exit 1
}

# start_server mode port log [extra args...]: starts the bench server and waits until it answers (at most 30 s).
start_server() {
  local mode="$1" port="$2" log="$3"
  shift 3
  local args=(--mode "$mode" --port "$port" "$@")
  if [[ "$mode" == grains* ]]; then args+=(--silo-port "$(free_port)" --gateway-port "$(free_port)"); fi
  if [ "$mode" = redis3 ]; then args+=(--redis "127.0.0.1:$redis_port"); fi
  dotnet "$dll" "${args[@]}" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 300); do
    if curl -sf -o /dev/null -H "X-Client: probe" "http://127.0.0.1:$port/"; then return 0; fi
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$log" >&2
  stop_pid "$server"
  server=""
  return 1
}

stop_server() {
  if [ -n "$server" ]; then stop_pid "$server"; fi
  server=""
}

# wrk_run population run-id seconds port connections [--latency]: one bounded wrk run with bench/http/clients.lua.
# COUNT_STATUS=1 (in the environment) adds a line "status: 2xx: N ... 5xx: N other: N" to wrk's output.
wrk_run() {
  CLIENTS="$1" RUN_ID="$2" KNOWN_CLIENTS="${KNOWN_CLIENTS:-1000}" COUNT_STATUS="${COUNT_STATUS:-}" timeout $(($3 + 30)) \
    wrk -t2 -c"$5" -d"$3s" ${6:-} -s bench/http/clients.lua "http://127.0.0.1:$4/"
}

# status_count class wrk-output: the count of one class (2xx, 3xx, 4xx, 429, 5xx, other) from the COUNT_STATUS line; empty
# when the line is missing.
status_count() {
  awk -v class="$1:" '$1 == "status:" { for (i = 2; i < NF; i++) if ($i == class) print $(i + 1) }' <<<"$2"
}

# read_counters port: "ownerCalls ownerCallFailures requests" from the bench server's GET /bench/counters (the modes that
# use this library; see BenchCounters.cs), or nothing when the server does not serve it.
read_counters() {
  local json
  json=$(curl -sf --max-time 5 "http://127.0.0.1:$1/bench/counters") || return 0
  awk -v json="$json" 'BEGIN {
    n = split("ownerCalls ownerCallFailures requests", names, " ")
    for (i = 1; i <= n; i++) {
      value = "-"
      if (match(json, "\"" names[i] "\":[0-9]+")) { value = substr(json, RSTART, RLENGTH); sub(/^.*:/, "", value) }
      printf "%s%s", value, (i < n ? " " : "\n")
    }
  }'
}

# one_per count total: "1 per X" (X = total / count), "none" when count is 0, "-" when total is 0 or either is unknown.
one_per() {
  awk -v c="$1" -v t="$2" 'BEGIN {
    if (c !~ /^[0-9]+$/ || t !~ /^[0-9]+$/ || t == 0) print "-"
    else if (c == 0) print "none"
    else if (t / c < 10) printf "1 per %.2f\n", t / c
    else printf "1 per %.0f\n", t / c
  }'
}
