#!/usr/bin/env bash
# Starts a rate-limit cluster as local processes on 127.0.0.1: one redis-server and N standalone silos joined through
# Redis clustering, with window state in Redis. Everything binds to loopback.
#
#   deploy/local/cluster.sh start [N]   start Redis and N silos (default 2); silo i uses ports 11111+i and 30000+i
#   deploy/local/cluster.sh status      list what runs
#   deploy/local/cluster.sh stop        stop the silos gracefully (their windows are written to Redis), then Redis
#
# Environment: REDIS_PORT (6390), RUN_DIR (./.cluster), CONFIGURATION (Release).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
run_dir=${RUN_DIR:-$root/.cluster}
redis_port=${REDIS_PORT:-6390}
configuration=${CONFIGURATION:-Release}
host_dll=$root/src/Silo/Host/bin/$configuration/net10.0/Orleans.RateLimit.Silo.Host.dll

start() {
  local count=${1:-2}
  mkdir -p "$run_dir"
  command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install -y redis-server" >&2; exit 1; }
  if [[ ! -f $run_dir/redis.pid ]] || ! kill -0 "$(cat "$run_dir/redis.pid")" 2>/dev/null; then
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --pidfile "$run_dir/redis.pid" --logfile "$run_dir/redis.log"
    for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  dotnet build "$root/src/Silo/Host" -c "$configuration" -v quiet -nologo >/dev/null
  for i in $(seq 0 $((count - 1))); do
    RateLimitSilo__Clustering=Redis RateLimitSilo__Storage=Redis RateLimitSilo__Redis="127.0.0.1:$redis_port" \
    RateLimitSilo__SiloPort=$((11111 + i)) RateLimitSilo__GatewayPort=$((30000 + i)) \
      nohup dotnet "$host_dll" >"$run_dir/silo$i.log" 2>&1 &
    echo $! >"$run_dir/silo$i.pid"
    echo "silo $i: pid $!, silo port $((11111 + i)), gateway 127.0.0.1:$((30000 + i)), log $run_dir/silo$i.log"
  done
  echo "redis: 127.0.0.1:$redis_port"
}

status() {
  for pid_file in "$run_dir"/*.pid; do
    [[ -f $pid_file ]] || continue
    local name; name=$(basename "$pid_file" .pid)
    if kill -0 "$(cat "$pid_file")" 2>/dev/null; then echo "$name: running (pid $(cat "$pid_file"))"; else echo "$name: stopped"; fi
  done
}

stop() {
  for pid_file in "$run_dir"/silo*.pid; do
    [[ -f $pid_file ]] || continue
    local pid; pid=$(cat "$pid_file")
    if kill -TERM "$pid" 2>/dev/null; then
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pid_file"
  done
  if [[ -f $run_dir/redis.pid ]]; then
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    rm -f "$run_dir/redis.pid"
  fi
  echo "stopped"
}

case ${1:-} in
  start) start "${2:-2}" ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 start [N] | status | stop" >&2; exit 2 ;;
esac
