#!/usr/bin/env bash
# A network-size trade-off for priors/ns64 (priors/ns64/README.md, "Trade-off measured"): trains
# another architecture on the same data in one stage with stage 2's σ distribution, from EDM's
# random initialisation, and writes the same quality report as the shipped prior. Resumable:
# rerun to continue.
#
#   scripts/train-ns64-arch.sh NET.json OUTDIR [STEPS]     # default 5000 steps of 16 = 80 000 images
#
# Needs data/ns64-train.h5 and data/ns64-heldout.h5 (scripts/train-ns64.sh makes both).
set -euo pipefail
cd "$(dirname "$0")/.."
NET=${1:?usage: scripts/train-ns64-arch.sh NET.json OUTDIR [STEPS]}
OUT=${2:?usage: scripts/train-ns64-arch.sh NET.json OUTDIR [STEPS]}
STEPS=${3:-5000}
BIN=${ENKG_BIN:-bin/enkg}
DATA=${ENKG_DATA:-data}
resume=()
[[ -f "$OUT/checkpoint.npz" ]] && resume=(--resume)
"$BIN" prior train --data "$DATA/ns64-train.h5" --config "$NET" --out "$OUT" \
  --p-mean -0.4 --p-std 1.4 --steps "$STEPS" --batch 16 --lr 5e-4 --warmup 2000 --ema-halflife 4000 \
  --seed 0 --val-count 256 --checkpoint-every 10m "${resume[@]}"
"$BIN" prior report --force --weights "$OUT/weights.npz" --config "$OUT/config.json" \
  --data "$DATA/ns64-heldout.h5" --train "$DATA/ns64-train.h5" --out "$OUT/report" \
  --title "priors/ns64 trade-off: $(basename "$NET")"
echo "report: $OUT/report/report.md"
