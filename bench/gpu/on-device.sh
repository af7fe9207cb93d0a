#!/usr/bin/env bash
# On the CUDA device machine, in one call (device time is short): first `cuda-check` (the same
# computations on CPU and GPU, compared; no CUDA device fails the session), then the QST
# paper's comparison at Llama-2-7B shape, one method per process so that each peak is its own.
# Everything goes to $OUT (or bench/results when $OUT is unset): cuda-check-cuda.json, one
# qst-scale JSON per method, and one
# log with nvidia-smi's view of the GPU — 8 files, the device tool's limit. 90 s + 6 × 80 s stays
# under the tool's 600 s a call.
#   bash bench/gpu/on-device.sh [extra qst-scale options, e.g. --layers 2 --batch 1 --seq 64]
# Environment: METHODS (default "qst qst-bf16 qlora lora-bf16 qlora-gc lora-bf16-gc"; "" skips the
# comparison), PER_METHOD_S (default 80), BENCH (how to start the benchmark; default the
# .gpu bundle that bench/gpu/bundle.sh makes), QT_REHEARSAL=1 (bench/gpu/bundle.sh --check on a
# machine without CUDA: cuda-check compares the CPU with itself, labelled cpu-rehearsal).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-bench/results}
mkdir -p "$out"
if [ ! -d .gpu/app ]; then tar -xJf .gpu/app.tar.xz -C .gpu || exit 1; fi
bench=${BENCH:-bash .gpu/run.sh QuantTune.Bench.dll}
log="$out/device-log.txt"
{ date -u; nvidia-smi 2>&1 || echo "nvidia-smi: not available"; } > "$log"
status=0
step() { # name, timeout, benchmark arguments...
  local name=$1 limit=$2; shift 2
  echo "=== $name $(date -u +%T)" | tee -a "$log"
  timeout "$limit" $bench "$@" --out "$out" >>"$log" 2>&1
  local rc=$?
  tail -n 2 "$log"
  if [ $rc -ne 0 ]; then echo "=== $name: exit code $rc (124: over $limit s)" | tee -a "$log"; status=1; fi
}
step cuda-check 90 cuda-check --require-cuda ${QT_REHEARSAL:+--rehearse}
for method in ${METHODS-qst qst-bf16 qlora lora-bf16 qlora-gc lora-bf16-gc}; do
  step "qst-scale $method" "${PER_METHOD_S:-80}" qst-scale --method "$method" "$@"
done
exit $status
