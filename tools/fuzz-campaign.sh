#!/usr/bin/env bash
# Runs tools/fuzz.sh on each target in turn, each until EXECUTIONS inputs have run or MINUTES have
# passed, and appends one row per target to $WORK/campaign.md (a Markdown table of AFL's
# fuzzer_stats, the table fuzz/results.md shows):
#   tools/fuzz-campaign.sh MINUTES|SECONDSs EXECUTIONS [TARGET...]     (default: every target)
# WORK defaults to /tmp/quanttune-fuzz, as for tools/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/quanttune-fuzz}
export WORK
if [ $# -lt 2 ]; then echo "usage: tools/fuzz-campaign.sh MINUTES|SECONDSs EXECUTIONS [TARGET...]" >&2; exit 2; fi
duration=$1 executions=$2
shift 2
if [ $# -eq 0 ]; then mapfile -t targets < <(tools/fuzz.sh list); else targets=("$@"); fi
table=$WORK/campaign.md
mkdir -p "$WORK"
if [ ! -f "$table" ]; then
  echo "| target | commit | seconds | executions | exec/s | corpus | edges | crashes | hangs |" > "$table"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|" >> "$table"
fi
commit=$(git rev-parse --short HEAD)
for target in "${targets[@]}"; do
  tools/fuzz.sh "$target" "$duration" "$executions" || { echo "| $target | $commit | failed to run | | | | | | |" >> "$table"; continue; }
  stats=$WORK/findings/$target/default/fuzzer_stats
  field() { sed -n "s/^$1 *: //p" "$stats"; }
  echo "| $target | $commit | $(field run_time) | $(field execs_done) | $(field execs_per_sec) | $(field corpus_count) | $(field edges_found) | $(field saved_crashes) | $(field saved_hangs) |" >> "$table"
  # Keep the findings: a later run of the same target replaces $WORK/findings/TARGET.
  if [ "$(field saved_crashes)" != 0 ] || [ "$(field saved_hangs)" != 0 ]; then
    mkdir -p "$WORK/kept/$target"
    cp -r "$WORK/findings/$target/default/crashes" "$WORK/findings/$target/default/hangs" "$WORK/kept/$target/" 2>/dev/null || true
  fi
done
cat "$table"
