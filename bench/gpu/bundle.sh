#!/usr/bin/env bash
# Here (no GPU needed): builds .gpu/ with the benchmark project for the CUDA device machine,
# through ../shared/gpu/bundle.sh (a .NET runtime + a publish without any libtorch; the device
# machine's PyTorch provides a CUDA libtorch), then slims it so that .gpu and the working tree
# together stay under the device tool's 64 MiB:
#   - the app loses its copy of assets/ (on the device it runs in the repository root, which
#     has them) and travels packed with xz -9e as .gpu/app.tar.xz (on-device.sh unpacks it);
#   - the runtime loses what the benchmarks never load (XML, networking, data, VB, the
#     debugger's and alternative GCs' libraries) and is packed with xz -9e.
# Then call the device tool's `run` with carry [".gpu"] and:  bash bench/gpu/on-device.sh
# Check it here first:  bash bench/gpu/bundle.sh --check  (runs cuda-check on this CPU with the
# slim runtime and the NuGet CPU libtorch, exactly as the device will run it but for CUDA).
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
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
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
carried=$(du -sb .gpu | cut -f1)
echo "bench/gpu/bundle.sh: .gpu $((carried >> 20)) MiB + working tree $((tree >> 20)) MiB = $(((carried + tree) >> 20)) MiB (the device tool's limit: 64 MiB)"

if [ "${1:-}" = "--check" ]; then
  rt=$(mktemp -d)
  tar -xJf .gpu/dotnet-rt.tar.xz -C "$rt"
  tar -xJf .gpu/app.tar.xz -C .gpu
  torchlib=$(dirname "$(find ~/.nuget/packages/libtorch-cpu-linux-x64 -name libtorch.so | head -1)")
  run() { DOTNET_ROOT=$rt LD_LIBRARY_PATH=$torchlib "$rt/dotnet" .gpu/app/QuantTune.Bench.dll "$@" --out "$rt/out" 2>"$rt/err"; }
  rc=0
  run cuda-check | grep -E '"(Passed|Failed)": [0-9]|"Error": "' || rc=1
  run qst-scale --method qst --config assets/models/tiny-llama --batch 1 --seq 32 --steps 1 --warmup 1 --device cpu \
    | grep -E '"ms_per_step_median"' || rc=1
  rm -rf "$rt" .gpu/app
  [ $rc -eq 0 ] && echo "bench/gpu/bundle.sh --check: the bundle runs" || echo "bench/gpu/bundle.sh --check: FAILED" >&2
  exit $rc
fi
