#!/usr/bin/env bash
# Inference throughput, Go against PyTorch, side by side (README benchmark table): D(x; σ) of
# the EnKG Navier–Stokes prior's architecture (EDMPrecond + DhariwalUNet 128², 26.8 M
# parameters, random weights), batch 1 and 4, 2 threads; Go and PyTorch alternate ROUNDS
# times and the best seconds per image of each are kept.
#
#   scripts/prior-bench.sh [ROUNDS]
#   ENKG_BENCH_BASE=3d712f0 scripts/prior-bench.sh   # ... and the Go code of that commit
#
# PyTorch: Debian's python3-torch (/usr/bin/python3), diffusion/unet/torchbench/ns_bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-2}
BASE=${ENKG_BENCH_BASE:-}
unet_bench_binary /tmp/unet.test
[[ -n $BASE ]] && unet_bench_binary /tmp/unet-base.test "$BASE"
secs() { awk -v n="BenchmarkNSPriorBatch$2-" 'index($1, n) == 1 {for (i=1;i<=NF;i++) if ($(i+1)=="s/image") print $i}' <<<"$1"; }
declare -A best_go best_pt best_base
for r in $(seq "$ROUNDS"); do
  out=$(/tmp/unet.test -test.run '^$' -test.bench 'BenchmarkNSPriorBatch[14]$' -test.benchtime 3x)
  pt=$(/usr/bin/python3 diffusion/unet/torchbench/ns_bench.py --threads 2 --batch 1 4 --reps 3)
  base=""
  [[ -n $BASE ]] && base=$(/tmp/unet-base.test -test.run '^$' -test.bench 'BenchmarkNSPriorBatch[14]$' -test.benchtime 3x)
  for b in 1 4; do
    g=$(secs "$out" "$b")
    p=$(awk -v b="$b:" '$1 == "batch" && $2 == b {for (i=1;i<=NF;i++) if ($(i+1)=="s/image") print $i}' <<<"$pt")
    line="round $r, batch $b: Go $g s/image, PyTorch $p s/image"
    if [[ -n $BASE ]]; then
      o=$(secs "$base" "$b")
      line="$line, Go at $BASE $o s/image"
      best_base[$b]=$(python3 -c "print(min(${best_base[$b]:-1e9}, $o))")
    fi
    echo "$line"
    best_go[$b]=$(python3 -c "print(min(${best_go[$b]:-1e9}, $g))")
    best_pt[$b]=$(python3 -c "print(min(${best_pt[$b]:-1e9}, $p))")
  done
done
for b in 1 4; do
  line="best, batch $b: Go ${best_go[$b]} s/image, PyTorch ${best_pt[$b]} s/image, Go/PyTorch time $(python3 -c "print(round(${best_go[$b]}/${best_pt[$b]}, 2))")"
  [[ -n $BASE ]] && line="$line; Go at $BASE ${best_base[$b]} s/image, this tree $(python3 -c "print(round(${best_base[$b]}/${best_go[$b]}, 2))")× faster"
  echo "$line"
done
