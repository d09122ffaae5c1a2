#!/usr/bin/env bash
# Runs every test of the repository: installs redis-server when it is missing (the tests start their own servers on free
# loopback ports and need none running), then runs the test projects one after another. Arguments go to dotnet test,
# e.g. ./test.sh --filter FullyQualifiedName~Deploy
set -euo pipefail
cd "$(dirname "$0")"

command -v dotnet >/dev/null 2>&1 || { echo "dotnet not found: the tests need the .NET 10 SDK" >&2; exit 1; }

if ! command -v redis-server >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "redis-server not found and there is no apt-get here: install redis-server with your package manager, then run $0 again" >&2
    exit 1
  fi
  if [[ $(id -u) == 0 ]]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "redis-server not found, and installing it needs root: run 'apt-get install -y redis-server' as root, or $0 as root" >&2
    exit 1
  fi
  echo "redis-server not found: installing it with ${as_root[*]:+${as_root[*]} }apt-get"
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
     ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; then
    echo "installing redis-server failed (see above): install it yourself (apt-get install -y redis-server), then run $0 again" >&2
    exit 1
  fi
fi
redis-server --version

dotnet test Orleans.RateLimit.sln -c Release -m:1 "$@"
