#!/usr/bin/env bash
# Starts a rate-limit cluster as local processes on 127.0.0.1: one redis-server and N standalone silos joined through
# Redis clustering, with window state in Redis. Everything binds to loopback.
#
#   deploy/local/cluster.sh start [N]     start Redis and silos 0..N-1 (default 2) that are not running yet; silo i uses
#                                         ports SILO_PORT+i and GATEWAY_PORT+i, so `start 3` after `start 2` adds a third
#   deploy/local/cluster.sh status        list what runs
#   deploy/local/cluster.sh members       the membership table in Redis: one line per silo, address and status
#   deploy/local/cluster.sh restart-redis stop redis-server and start it again on the same port and data
#   deploy/local/cluster.sh stop          stop the silos gracefully (their windows are written to Redis), then Redis
#   deploy/local/cluster.sh clean         stop, then delete the run directory with Redis' data and the logs
#
# Redis keeps its data in an append-only file (appendfsync everysec) under $RUN_DIR/redis, so membership and windows
# survive a restart of redis-server: with an empty Redis, running silos could no longer update their membership rows,
# and a silo started afterwards would form a second cluster.
#
# Environment: REDIS_PORT (6390), SILO_PORT (11111), GATEWAY_PORT (30000), RUN_DIR (./.cluster), CONFIGURATION
# (Release), CLUSTER_ID and SERVICE_ID (orleans-ratelimit, as in src/Silo/Host/appsettings.json).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
run_dir=$(realpath -m "${RUN_DIR:-$root/.cluster}")
redis_port=${REDIS_PORT:-6390}
silo_port=${SILO_PORT:-11111}
gateway_port=${GATEWAY_PORT:-30000}
configuration=${CONFIGURATION:-Release}
cluster_id=${CLUSTER_ID:-orleans-ratelimit}
service_id=${SERVICE_ID:-orleans-ratelimit}
host_dll=$root/src/Silo/Host/bin/$configuration/net10.0/Orleans.RateLimit.Silo.Host.dll

running() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

require_redis() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
    { echo "redis-server and redis-cli not found: apt-get install -y redis-server" >&2; exit 1; }
}

start_redis() {
  mkdir -p "$run_dir/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --protected-mode yes \
    --dir "$run_dir/redis" --save "" --appendonly yes --appendfsync everysec \
    --daemonize yes --pidfile "$run_dir/redis.pid" --logfile "$run_dir/redis.log"
  for _ in $(seq 1 100); do
    # A server replaying a large append-only file answers LOADING until it has read it all.
    [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] && return 0
    sleep 0.1
  done
  echo "redis-server did not answer on 127.0.0.1:$redis_port within 10 s; see $run_dir/redis.log" >&2
  exit 1
}

stop_redis() {
  [[ -f $run_dir/redis.pid ]] || return 0
  local pid; pid=$(cat "$run_dir/redis.pid")
  # SHUTDOWN flushes and fsyncs the append-only file before the server exits.
  redis-cli -p "$redis_port" shutdown >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "redis-server (pid $pid) did not stop within 10 s" >&2; exit 1; fi
  rm -f "$run_dir/redis.pid"
}

start() {
  local count=${1:-2}
  [[ $count =~ ^[1-9][0-9]?$ ]] || { echo "start: N must be a number from 1 to 99, not '$count'" >&2; exit 2; }
  require_redis
  mkdir -p "$run_dir"
  running "$run_dir/redis.pid" || start_redis
  dotnet build "$root/src/Silo/Host" -c "$configuration" -v quiet -nologo >"$run_dir/build.log" 2>&1 ||
    { cat "$run_dir/build.log" >&2; echo "building src/Silo/Host failed" >&2; exit 1; }
  for i in $(seq 0 $((count - 1))); do
    if running "$run_dir/silo$i.pid"; then
      echo "silo $i: already running (pid $(cat "$run_dir/silo$i.pid"))"
      continue
    fi
    # From the build output, so that the host's appsettings.json applies; the environment overrides it.
    (cd "$(dirname "$host_dll")" &&
      RateLimitSilo__Clustering=Redis RateLimitSilo__Storage=Redis RateLimitSilo__Redis="127.0.0.1:$redis_port" \
      RateLimitSilo__ClusterId="$cluster_id" RateLimitSilo__ServiceId="$service_id" \
      RateLimitSilo__SiloPort=$((silo_port + i)) RateLimitSilo__GatewayPort=$((gateway_port + i)) \
        exec nohup dotnet "$host_dll" >>"$run_dir/silo$i.log" 2>&1) &
    echo $! >"$run_dir/silo$i.pid"
    echo "silo $i: pid $!, silo port $((silo_port + i)), gateway 127.0.0.1:$((gateway_port + i)), log $run_dir/silo$i.log"
  done
  echo "redis: 127.0.0.1:$redis_port, data in $run_dir/redis"
}

status() {
  for pid_file in "$run_dir"/*.pid; do
    [[ -f $pid_file ]] || continue
    local name; name=$(basename "$pid_file" .pid)
    if running "$pid_file"; then echo "$name: running (pid $(cat "$pid_file"))"; else echo "$name: stopped"; fi
  done
}

# Orleans' Redis membership table is one hash per cluster, "<ServiceId>/members/<ClusterId>": a "Version" field and one
# JSON field per silo that joined. Its status numbers: 1 Created, 2 Joining, 3 Active, 4 ShuttingDown, 5 Stopping, 6 Dead.
members() {
  require_redis
  local key="$service_id/members/$cluster_id"
  if [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) != PONG ]]; then
    echo "redis-server does not answer on 127.0.0.1:$redis_port" >&2
    return 1
  fi
  if [[ $(redis-cli -p "$redis_port" exists "$key") != 1 ]]; then
    echo "no membership table at '$key' in 127.0.0.1:$redis_port"
    return 1
  fi
  echo "$key: version $(redis-cli -p "$redis_port" hget "$key" Version)"
  redis-cli -p "$redis_port" hkeys "$key" | { grep -v '^Version$' || true; } | sort | while read -r field; do
    local row state alive
    row=$(redis-cli -p "$redis_port" hget "$key" "$field")
    state=$(grep -o '"Status":[0-9]*' <<<"$row" | cut -d: -f2)
    alive=$(grep -o '"IAmAliveTime":"[^"]*"' <<<"$row" | cut -d'"' -f4)
    case $state in 1) state=Created ;; 2) state=Joining ;; 3) state=Active ;; 4) state=ShuttingDown ;;
                   5) state=Stopping ;; 6) state=Dead ;; esac
    echo "  $field $state (alive at $alive)"
  done
}

restart_redis() {
  require_redis
  running "$run_dir/redis.pid" || { echo "redis-server is not running; use start" >&2; exit 1; }
  stop_redis
  start_redis
  echo "redis: restarted on 127.0.0.1:$redis_port; $(redis-cli -p "$redis_port" dbsize) keys loaded from $run_dir/redis"
}

stop() {
  # Every silo at once: each writes its dirty windows to Redis and leaves the cluster.
  local pid_file left
  for pid_file in "$run_dir"/silo*.pid; do
    if [[ -f $pid_file ]]; then kill -TERM "$(cat "$pid_file")" 2>/dev/null || true; fi
  done
  for _ in $(seq 1 300); do
    left=0
    for pid_file in "$run_dir"/silo*.pid; do
      if running "$pid_file"; then left=1; fi
    done
    if [[ $left == 0 ]]; then break; fi
    sleep 0.1
  done
  for pid_file in "$run_dir"/silo*.pid; do
    [[ -f $pid_file ]] || continue
    # A silo that cannot reach Redis may wait for it longer than anyone wants to.
    if running "$pid_file"; then
      kill -KILL "$(cat "$pid_file")" 2>/dev/null || true
      echo "$(basename "$pid_file" .pid): did not stop within 30 s, killed"
    fi
    rm -f "$pid_file"
  done
  stop_redis
  echo "stopped"
}

case ${1:-} in
  start) start "${2:-2}" ;;
  status) status ;;
  members) members ;;
  restart-redis) restart_redis ;;
  stop) stop ;;
  clean) stop; rm -rf "$run_dir"; echo "removed $run_dir" ;;
  *) echo "usage: $0 start [N] | status | members | restart-redis | stop | clean" >&2; exit 2 ;;
esac
