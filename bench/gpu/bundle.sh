#!/usr/bin/env bash
# Here (no GPU needed): builds .gpu/ with the benchmark project for the CUDA device machine,
# through ../shared/gpu/bundle.sh (a .NET runtime + a publish without any libtorch; the device
# machine's PyTorch provides a CUDA libtorch), then slims it:
#   - the app loses its copy of assets/ (on the device it runs in the repository root, which
#     has them) and travels packed with xz -9e as .gpu/app.tar.xz (on-device.sh unpacks it);
#   - the runtime loses what the benchmarks never load (XML, networking, data, VB, the
#     debugger's and alternative GCs' libraries) and is packed with xz -9e.
# It records the bundle's size in bench/gpu/bundle-size.txt and prints what a device call would
# send (bench/gpu/travel.sh plan), failing above 60 MiB.
#
# A device call, from the repository root:
#   bash bench/gpu/travel.sh out      # what the device does not need moves into .travel-stash/
#   device run, carry [".gpu"]:  bash bench/gpu/on-device.sh 2>&1
#   bash bench/gpu/travel.sh back     # whatever the call did (bundle.sh puts it back too)
# Rehearse it here first:  bash bench/gpu/bundle.sh --check  (moves the tree aside as above, copies
# exactly what would travel into a scratch folder and runs on-device.sh there on this CPU, with
# the slim runtime and the NuGet CPU libtorch, at a cut shape; puts the tree back even on failure).
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
[ ! -d .travel-stash ] || bash bench/gpu/travel.sh back
bundler=${QT_GPU_BUNDLER:-../shared/gpu/bundle.sh}
[ -x "$bundler" ] || { echo "bench/gpu/bundle.sh: $bundler not found (set QT_GPU_BUNDLER to the shared gpu/bundle.sh)" >&2; exit 1; }
"$bundler" bench/QuantTune.Bench/QuantTune.Bench.csproj -p:LibTorch=external
rm -rf .gpu/app/assets .gpu/app.tar.xz
tar -cf - -C .gpu app | xz -9e -T2 > .gpu/app.tar.xz
rm -rf .gpu/app

if [ ! -f .gpu/dotnet-rt.slim ]; then
  tmp=$(mktemp -d)
  tar -xJf .gpu/dotnet-rt.tar.xz -C "$tmp"
  fx=$(ls -d "$tmp"/shared/Microsoft.NETCore.App/*/)
  (cd "$fx" && rm -f System.Private.Xml.dll System.Private.Xml.Linq.dll System.Xml*.dll System.Data.dll System.Data.Common.dll \
     System.Private.DataContractSerialization.dll System.Runtime.Serialization.Xml.dll Microsoft.VisualBasic.dll Microsoft.VisualBasic.Core.dll \
     System.Linq.AsyncEnumerable.dll System.Text.Encoding.CodePages.dll libmscordaccore.so libmscordbi.so libclrgc.so libclrgcexp.so \
     libcoreclrtraceptprovider.so createdump && ls | grep -E '^System\.Net\.' | grep -v Primitives | xargs rm -f)
  tar -cf - -C "$tmp" . | xz -9e -T2 > .gpu/dotnet-rt.tar.xz.new
  mv .gpu/dotnet-rt.tar.xz.new .gpu/dotnet-rt.tar.xz
  rm -rf "$tmp"
  touch .gpu/dotnet-rt.slim
fi
echo "$(du -sb .gpu | cut -f1) bytes: the .gpu bundle as bench/gpu/bundle.sh made it on $(date -u +%F) at commit $(git rev-parse --short HEAD)" > bench/gpu/bundle-size.txt
bash bench/gpu/travel.sh plan

if [ "${1:-}" = "--check" ]; then
  scratch=$(mktemp -d)
  trap 'bash bench/gpu/travel.sh back; rm -rf "$scratch"' EXIT
  bash bench/gpu/travel.sh out
  # What the device tool would send, copied as it copies it: the files git lists, and the carried .gpu.
  git ls-files -z --cached --others --exclude-standard | xargs -0 -r cp --parents -t "$scratch" 2>/dev/null || true
  cp -r .gpu "$scratch/"
  bash bench/gpu/travel.sh back
  sent=$(du -sb "$scratch" | cut -f1)
  echo "bench/gpu/bundle.sh --check: the rehearsal received $((sent >> 20)) MiB"
  rt=$scratch/.rt
  mkdir -p "$rt" && tar -xJf .gpu/dotnet-rt.tar.xz -C "$rt"
  torchlib=$(dirname "$(find ~/.nuget/packages/libtorch-cpu-linux-x64 -name libtorch.so | head -1)")
  rc=0
  # The device session itself, unchanged but for the CPU stand-ins and a cut shape.
  (cd "$scratch" && OUT=$scratch/.out QT_REHEARSAL=1 PER_METHOD_S=${PER_METHOD_S:-300} \
     BENCH="env DOTNET_ROOT=$rt LD_LIBRARY_PATH=$torchlib $rt/dotnet .gpu/app/QuantTune.Bench.dll" \
     bash bench/gpu/on-device.sh --layers 1 --batch 1 --seq 32 --steps 1 --warmup 1) || rc=1
  # On a machine without CUDA, cuda-check as the device runs it must fail and say so.
  (cd "$scratch" && DOTNET_ROOT=$rt LD_LIBRARY_PATH=$torchlib "$rt/dotnet" .gpu/app/QuantTune.Bench.dll \
     cuda-check --require-cuda --out "$scratch/.none" >/dev/null 2>"$scratch/.none-err") && none=0 || none=$?
  grep -q "no CUDA device" "$scratch/.none-err" && [ $none -eq 2 ] || { echo "cuda-check --require-cuda without CUDA: exit $none, expected 2 and 'no CUDA device'" >&2; rc=1; }
  ls -l "$scratch/.out"
  grep -h '"Passed"\|"Failed"\|"Device"' "$scratch"/.out/cuda-check-*.json || rc=1
  [ $rc -eq 0 ] && echo "bench/gpu/bundle.sh --check: the device session runs from what travels" || echo "bench/gpu/bundle.sh --check: FAILED" >&2
  exit $rc
fi
