#!/bin/sh
# Builds the harness, instruments the code under test and runs afl-fuzz on one target (docs/fuzzing.md).
#   tests/EventflowDb.Fuzz/fuzz.sh reader|session [output directory] [extra afl-fuzz arguments...]
# Needs afl-fuzz (Debian: apt-get install afl++) and the sharpfuzz tool
# (dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0).
# EFDB_FUZZ_INPUT: the starting corpus (default: the target's corpus in the repository).
# EFDB_FUZZ_NO_BUILD=1: use the instrumented build already there (for a second instance, -S).
set -eu
target=${1:?usage: fuzz.sh reader|session [output directory] [afl-fuzz arguments...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
work=${EFDB_FUZZ_WORK:-/tmp/efdb-fuzz}
out=${1:-$work/findings-$target}
[ $# -gt 0 ] && shift
bin=$work/bin-$target

if [ -z "${EFDB_FUZZ_NO_BUILD:-}" ]; then
  rm -rf "$bin"
  dotnet publish "$here/EventflowDb.Fuzz.csproj" -c Release -o "$bin" -p:UseAppHost=false
  # Only our parsing and command code is instrumented: coverage of FASTER or the runtime would be noise.
  for dll in EventflowDb.Protocol.dll EventflowDb.Server.dll; do
    "${SHARPFUZZ:-sharpfuzz}" "$bin/$dll"
  done
fi

# -t: an input that runs longer than this is a hang (a finding). A session that waits (BLOCK) is asked to stop
# after 200 ms, so a sound input never comes close. -m none: the .NET runtime reserves far more address space.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
exec afl-fuzz -i "${EFDB_FUZZ_INPUT:-$here/corpus/$target}" -o "$out" -x "$here/eventflow.dict" -t "${EFDB_FUZZ_TIMEOUT:-5000}" -m none "$@" \
  -- dotnet "$bin/EventflowDb.Fuzz.dll" "$target"
