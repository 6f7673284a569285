#!/usr/bin/env bash
# HTTP API throughput with wrk (Debian package `wrk`, installed when missing): appends of one event and of
# 100-event batches, and reads of 100 events, against a Release server on a temporary data directory with the
# default durability (each append acknowledged once fsynced). Prints a Markdown table for docs/benchmarks.md.
# Usage: bench/http/run.sh [seconds per scenario, default 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
command -v wrk > /dev/null || apt-get install -y wrk > /dev/null
dotnet build server/EventflowDb.Server -c Release -v q > /dev/null
data="$(mktemp -d)"
dotnet server/EventflowDb.Server/bin/Release/net10.0/EventflowDb.Server.dll --port 16563 --http-port 16564 --data "$data" > "$data.log" 2>&1 &
server=$!
trap 'kill "$server" 2> /dev/null; wait "$server" 2> /dev/null; rm -rf "$data" "$data.log"' EXIT
for _ in $(seq 50); do curl -sf localhost:16564/health > /dev/null && break; sleep 0.2; done

run() { # name, connections, script
  local out
  out="$(wrk -t2 -c"$2" -d"${seconds}s" --latency -s "bench/http/$3" http://127.0.0.1:16564)"
  local rps p50 p99 errors
  rps="$(awk '/Requests\/sec/ {print $2}' <<< "$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<< "$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<< "$out")"
  errors="$(grep -c 'Non-2xx\|Socket errors' <<< "$out" || true)"
  echo "| $1 | $2 | $rps | $p50 | $p99 | $errors |"
}

echo "| scenario | connections | requests/s | p50 | p99 | error lines |"
echo "|---|---|---|---|---|---|"
run "POST 1 event" 50 append1.lua
run "POST 100-event batch" 16 append100.lua
run "GET 100 events" 50 read100.lua
curl -s localhost:16564/stats; echo
