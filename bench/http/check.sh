#!/usr/bin/env bash
# Checks that every limiting mode of the HTTP bench really limits: each server starts with a permit of 3 per window, and a
# client's 4th request must get 429 while another client still gets 200, and the client must still get 429 after the 1-second
# window has passed (a longer window counts too). For redis3, the counters must be in Redis. For grainsfarm, whose hourly
# limit counts every client under one key: six new clients, one request each (so no per-client limit can break), must get
# one or two 200s (the start-up probe spent at least one of the farm's 3) and then only 429s, the last one after the
# 1-second window has passed.
#   bench/http/check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/http/lib.sh
require dotnet curl ss redis-server redis-cli
build_bench
start_redis

status() { curl -s -o /dev/null -w '%{http_code}' -H "X-Client: $2" "http://127.0.0.1:$1/"; }

failed=0
for mode in aspnet memory3 grains3 grains1 redis3; do
  port=$(free_port)
  # The start-up probe spends one request of client "probe" only.
  start_server "$mode" "$port" "$work/check-$mode.log" --permit 3 || { echo "$mode: did not start" >&2; failed=1; continue; }
  got="$(status "$port" a) $(status "$port" a) $(status "$port" a) $(status "$port" a) $(status "$port" b)"
  sleep 1.2
  got="$got $(status "$port" a)"
  expected="200 200 200 429 200 429"
  extra=""
  if [ "$mode" = redis3 ]; then extra=", Redis keys: $(redis-cli -p "$redis_port" --scan --pattern 'rl:a:*' | sort | tr '\n' ' ')"; fi
  if [ "$got" = "$expected" ]; then echo "$mode: ok ($got$extra)"; else echo "$mode: FAILED, got $got, expected $expected$extra"; failed=1; fi
  stop_server
done

# grainsfarm: the probe spends one request of the farm's 3 (more if it had to retry), so 1 or 2 of five new clients get 200.
port=$(free_port)
if start_server grainsfarm "$port" "$work/check-grainsfarm.log" --permit 3; then
  got="$(status "$port" f1) $(status "$port" f2) $(status "$port" f3) $(status "$port" f4) $(status "$port" f5)"
  sleep 1.2
  got="$got $(status "$port" f6)"
  if [[ "$got" =~ ^(200\ ){1,2}(429\ ?)+$ ]]; then
    echo "grainsfarm: ok ($got: the farm's hourly limit runs out across clients)"
  else
    echo "grainsfarm: FAILED, got $got, expected 1 or 2 × 200, then 429 only (six clients, one request each)"
    failed=1
  fi
  stop_server
else
  echo "grainsfarm: did not start" >&2
  failed=1
fi
if [ "$failed" != 0 ]; then keep_work=1; fi
exit "$failed"
