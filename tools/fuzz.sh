#!/usr/bin/env bash
# Runs AFL++ on one QuantTune fuzz target for MINUTES minutes (or SECONDS given as e.g. 30s),
# stopping earlier once EXECUTIONS inputs have run when that is given:
#   tools/fuzz.sh TARGET MINUTES [EXECUTIONS]     (tools/fuzz.sh list: the targets)
# tools/fuzz-campaign.sh runs every target in turn and collects the figures.
# Builds fuzz/QuantTune.Fuzz into $WORK/build, instruments QuantTune.dll there with SharpFuzz
# (dotnet tool SharpFuzz.CommandLine 2.3.0, installed into $WORK/tool when missing), then runs
# afl-fuzz (Debian: apt-get install -y afl++) with fuzz/corpus/TARGET as seeds, at nice 19 and
# without CPU pinning (the machine is shared). Findings land in $WORK/findings/TARGET; the script
# ends with the run's figures from AFL's fuzzer_stats. A crash worth keeping goes, minimised, into
# fuzz/repros/TARGET/, which the test suite replays (tests/QuantTune.Tests/Fuzz).
# WORK defaults to /tmp/quanttune-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/quanttune-fuzz}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ "${1:-}" = list ]; then
  dotnet run --project fuzz/QuantTune.Fuzz -c Release -- list
  exit 0
fi
if [ $# -lt 2 ] || [ $# -gt 3 ]; then echo "usage: tools/fuzz.sh TARGET MINUTES|SECONDSs [EXECUTIONS] | tools/fuzz.sh list" >&2; exit 2; fi
target=$1 duration=$2 executions=${3:-}
[[ $duration =~ ^[1-9][0-9]*s?$ ]] || { echo "MINUTES must be a positive whole number (or SECONDS, as 30s), not '$duration'" >&2; exit 2; }
case $duration in
  *s) seconds=${duration%s} ;;
  *) seconds=$((duration * 60)) ;;
esac
limit=()
if [ -n "$executions" ]; then
  [[ $executions =~ ^[1-9][0-9]*$ ]] || { echo "EXECUTIONS must be a positive whole number, not '$executions'" >&2; exit 2; }
  limit=(-E "$executions")
fi
[ -d "fuzz/corpus/$target" ] || { echo "no corpus fuzz/corpus/$target (tools/fuzz.sh list)" >&2; exit 2; }
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install -y afl++" >&2; exit 2; }

plain=$WORK/plain build=$WORK/build
dotnet build fuzz/QuantTune.Fuzz -c Release -o "$plain" 2>&1 | grep -E " error |rror\(s\)" || true
# The fixed files of the target's folder, built by the uninstrumented copy.
export QUANTTUNE_FUZZ_MICRO=$WORK/micro QUANTTUNE_FUZZ_FOLDER=$WORK/fixed/$target
rm -rf "$QUANTTUNE_FUZZ_FOLDER"
dotnet "$plain/QuantTune.Fuzz.dll" prepare "$target" >/dev/null
if [ ! -f "$build/.instrumented" ] || [ -n "$(find src/QuantTune fuzz/QuantTune.Fuzz -name '*.cs' -newer "$build/.instrumented" | head -1)" ]; then
  rm -rf "$build"
  dotnet build fuzz/QuantTune.Fuzz -c Release -o "$build" 2>&1 | grep -E " error |rror\(s\)" || true
  [ -x "$WORK/tool/sharpfuzz" ] || dotnet tool install --tool-path "$WORK/tool" SharpFuzz.CommandLine --version 2.3.0
  "$WORK/tool/sharpfuzz" "$build/QuantTune.dll"
  touch "$build/.instrumented"
fi

out=$WORK/findings/$target
rm -rf "$out"
mkdir -p "$out"
# dotnet is not an AFL binary (SharpFuzz speaks the fork-server protocol from managed code);
# the time limit covers the .NET start of each out-of-process child.
AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
AFL_AUTORESUME=0 AFL_FORKSRV_INIT_TMOUT=60000 \
  nice -n 19 afl-fuzz -i "fuzz/corpus/$target" -o "$out" -t 10000 -m none -V "$seconds" "${limit[@]}" \
  -- dotnet "$build/QuantTune.Fuzz.dll" fuzz "$target" > "$out/afl.log" 2>&1 || { tail -30 "$out/afl.log"; exit 1; }

stats=$out/default/fuzzer_stats
field() { sed -n "s/^$1 *: //p" "$stats"; }
echo "target $target: $(field execs_done) executions in $(field run_time) s ($(field execs_per_sec)/s), corpus $(field corpus_count), edges $(field edges_found)/$(field total_edges) ($(field bitmap_cvg)), crashes $(field saved_crashes), hangs $(field saved_hangs)"
ls "$out/default/crashes" "$out/default/hangs" 2>/dev/null | grep -v README || true
