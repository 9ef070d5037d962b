#!/usr/bin/env bash
# EnKG (neural prior) on the Navier–Stokes study's validation truths (fields 0–1 of
# `enkg data ns --seed 2000`, never test truths), σ = 0, at other budgets than the study's
# (J = 128, N = 8, 2 updates): how the error falls with members, steps and updates per step,
# and whether a larger budget reaches the flagship's bar. Resumable (a finished solve is
# skipped; an interrupted one is redone). Writes one line per solve to stdout and every solve's outputs under
# out/ns-budget-tune/.
#
#   scripts/ns-budget-tune.sh                          # the grid below
#   scripts/ns-budget-tune.sh "128 8 4 2" "64 16 2 2"  # other (members steps updates scale [extra])
#   scripts/ns-budget-tune.sh "128 8 2 2 heun=true"    # extra: algorithm.enkg settings, comma-separated
#   ENKG_NS_TUNE_TRUTHS="0 1 2" scripts/ns-budget-tune.sh
#
# Cost on 2 cores: ≈ 45 ms per U-Net evaluation and 22 ms per forward solve; each line prints
# its forward and denoiser evaluations and wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
out=${ENKG_NS_OUT:-out/ns-budget-tune}
mkdir -p "$out"
bin=$out/enkg
go build -o "$bin" ./cmd/enkg
grid=("$@")
(( ${#grid[@]} )) || grid=("128 8 2 2" "128 16 2 1" "128 8 2 2 sigma_max=5")
for g in "${grid[@]}"; do
  read -r members steps updates scale extra <<<"$g"
  sets=()
  for kv in ${extra//,/ }; do sets+=(--set "algorithm.enkg.$kv"); done
  for ti in ${ENKG_NS_TUNE_TRUTHS:-0 1}; do
    dir=$out/J$members-N$steps-U$updates-s$scale${extra:+-${extra//[=,]/-}}/truth$ti
    if ! solve_done "$dir" || [[ ! -f $dir/wall_s ]]; then
      rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
      start=$(date +%s)
      "$bin" solve --config configs/navier-stokes-neural.yaml --set truth.seed=2000 --set truth.index=$ti \
        --set problem.noise=0 --set algorithm.enkg.members=$members --set algorithm.enkg.steps=$steps \
        --set algorithm.enkg.updates=$updates --set algorithm.enkg.scale=$scale "${sets[@]}" --out "$dir" >"$dir.log" 2>&1
      echo $(( $(date +%s) - start )) >"$dir/wall_s"
    fi
    printf 'J=%s N=%s updates=%s scale=%s %s truth=%d rel_l2=%.3f forward=%s denoiser=%s wall_s=%s\n' \
      "$members" "$steps" "$updates" "$scale" "${extra:-}" "$ti" "$(metric rel_l2 "$dir/metrics.json")" \
      "$(metric forward "$dir/metrics.json")" "$(metric denoiser "$dir/metrics.json")" "$(cat "$dir/wall_s")"
  done
done
