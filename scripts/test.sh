#!/usr/bin/env bash
# Runs every test of the solution. Installs redis-cli (redis-tools), ss (iproute2) and chromium first when missing,
# because the integration tests drive the server with redis-cli, read socket options with ss, and drive the web
# console with Playwright in Debian's chromium (never `playwright install`: it would download a browser).
set -euo pipefail
cd "$(dirname "$0")/.."

# redis-cli drives the server in integration tests; ss (iproute2) shows the keepalive timer of a server socket.
missing=()
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} for the integration tests..."
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

log=$(mktemp)
set +e
dotnet test EventflowDb.sln -c Release --blame-hang-timeout 5m 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One plain summary line over all test projects.
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "tests: $passed passed, $failed failed"
exit "$status"
