#!/usr/bin/env bash
# Reproduces priors/ns64 (make prior-ns64): the 64² Navier–Stokes training set, EDM training in
# Go, and the quality report on held-out fields. Every step is resumable: rerun to continue.
#
#   scripts/train-ns64.sh BIN OUTDIR DATADIR
#
# Data: 12 000 fields of 'enkg data ns' (GRF α 2.5, τ 7 initial vorticity, spun up 5 time units
# at Re 200 with forcing −4cos(4y), 64², seed 0, float32); the last 256 are held out for the
# validation loss. Report: 256 held-out fields of seed 2000 (never used for training).
# Training settings: priors/ns64/net.json, and the flags below (see priors/ns64/README.md):
# stage 1 from EDM's random initialisation with EDM's σ distribution (OUTDIR), stage 2 from
# stage 1's EMA weights with more of the images at high noise (OUTDIR/ft: the shipped prior).
set -euo pipefail
BIN=${1:-bin/enkg}
OUT=${2:-out/ns64}
DATA=${3:-data}
STEPS=${ENKG_NS64_STEPS:-1829}
FT_STEPS=${ENKG_NS64_FT_STEPS:-3153}
mkdir -p "$OUT" "$DATA"
"$BIN" data ns --n 12000 --res 64 --spinup 5 --re 200 --seed 0 --float32 --out "$DATA/ns64-train.h5"
resume=()
[[ -f "$OUT/checkpoint.npz" ]] && resume=(--resume)
"$BIN" prior train --data "$DATA/ns64-train.h5" --config priors/ns64/net.json --out "$OUT" \
  --steps "$STEPS" --batch 16 --lr 5e-4 --warmup 2000 --ema-halflife 4000 --seed 0 \
  --val-count 256 --checkpoint-every 10m "${resume[@]}"
resume=()
[[ -f "$OUT/ft/checkpoint.npz" ]] && resume=(--resume)
"$BIN" prior train --data "$DATA/ns64-train.h5" --config priors/ns64/net.json --out "$OUT/ft" \
  --init "$OUT/weights.npz" --p-mean -0.4 --p-std 1.4 \
  --steps "$FT_STEPS" --batch 16 --lr 5e-4 --warmup 2000 --ema-halflife 4000 --seed 1 \
  --val-count 256 --checkpoint-every 10m "${resume[@]}"
"$BIN" data ns --n 256 --res 64 --spinup 5 --re 200 --seed 2000 --float32 --out "$DATA/ns64-heldout.h5"
"$BIN" prior report --weights "$OUT/ft/weights.npz" --config "$OUT/ft/config.json" \
  --data "$DATA/ns64-heldout.h5" --train "$DATA/ns64-train.h5" --out "$OUT/ft/report" \
  --title "priors/ns64: 64² Navier–Stokes vorticity prior trained in Go"
echo "prior: $OUT/ft/weights.npz $OUT/ft/config.json; report: $OUT/ft/report/report.md"
