#!/usr/bin/env bash
# Packs the library (QuantTune, with its buildTransitive GLIBCXX step) and the quanttune tool, installs it from the local package folder into a fresh tool path,
# and runs it on the embedded model: the install a user makes with `dotnet tool install`.
# Usage: tools/pack-tool.sh [OUT_DIR]   (default: a temporary folder; package sizes are printed)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
mkdir -p "$out/packages" "$out/tools"
dotnet pack src/QuantTune.Cli -c Release -o "$out/packages" -p:Version=0.1.0-local -p:RuntimeIdentifiers=linux-x64 >"$out/pack.log" || { cat "$out/pack.log"; exit 1; }
dotnet pack src/QuantTune -c Release -o "$out/packages" -p:Version=0.1.0-local >>"$out/pack.log" || { cat "$out/pack.log"; exit 1; }
# The listing is taken whole first: under pipefail, `unzip -l | grep -q` fails when grep exits at the first match and unzip dies of SIGPIPE.
listing=$(unzip -l "$out/packages/QuantTune.0.1.0-local.nupkg")
for entry in buildTransitive/QuantTune.targets README.md; do
  grep -q "$entry" <<<"$listing" || { echo "the library package lacks $entry"; exit 1; }
done
echo "packages:"
for p in "$out"/packages/*.nupkg; do printf '  %s  %s MB\n' "$(basename "$p")" "$(( $(stat -c %s "$p") / 1048576 ))"; done
dotnet tool install QuantTune.Tool --version 0.1.0-local --tool-path "$out/tools" --add-source "$out/packages" --ignore-failed-sources >/dev/null
"$out/tools/quanttune" info --model tiny-llama --json > "$out/info.json"
"$out/tools/quanttune" plan --model llama-3.1-8b --method qst --json > "$out/plan.json"
echo "installed and ran: $out/tools/quanttune (info and plan outputs in $out)"
