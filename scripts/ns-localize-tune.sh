#!/usr/bin/env bash
# Localization radius and scale for EnKG (neural prior) and EKI on the Navier–Stokes study's
# validation truths (fields 0–1 of `enkg data ns --seed 2000`, never test truths), σ = 0: the
# ad-hoc grid that chose the "localized" rows of scripts/ns-study.sh
# (results/ns-study/localization.md). Resumable (a finished solve is skipped; an interrupted one is redone). Writes one line
# per solve to stdout and every solve's outputs under out/ns-localize-tune/.
#
#   scripts/ns-localize-tune.sh                       # the grid below
#   scripts/ns-localize-tune.sh "enkg 2 4" "eki 3 8"  # other (method radius scale) triples
#
# Cost on 2 cores: EnKG ≈ 2.2 min, EKI ≈ 1.1 min per solve.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
data=${ENKG_NS_DATA:-data/ns64-train.h5}
[[ -f $data ]] || { echo "ns-localize-tune: $data is missing (enkg data ns --res 64 --spinup 5 --re 200 --seed 0 --n 1000)" >&2; exit 1; }
out=${ENKG_NS_OUT:-out/ns-localize-tune}
mkdir -p "$out"
bin=$out/enkg
go build -o "$bin" ./cmd/enkg
gauss=(--set "prior.data=$data" --set prior.train=1000 --set "prior.file=${data%.*}-spectral-1000.npz")
grid=("$@")
(( ${#grid[@]} )) || grid=("eki 0 2" "eki 2 8" "enkg 0 2" "enkg 2 4" "enkg 2 8")
for g in "${grid[@]}"; do
  read -r method radius scale <<<"$g"
  for ti in 0 1; do
    dir=$out/$method-r$radius-s$scale/truth$ti
    if ! solve_done "$dir"; then
      rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
      if [[ $method == enkg ]]; then
        args=(--config configs/navier-stokes-neural.yaml)
      else
        args=(--config configs/navier-stokes-gaussian.yaml --set algorithm.name=eki "${gauss[@]}")
      fi
      "$bin" solve "${args[@]}" --set truth.seed=2000 --set truth.index=$ti --set problem.noise=0 \
        --set algorithm.$method.localization=$radius --set algorithm.$method.scale=$scale --out "$dir" >"$dir.log" 2>&1
    fi
    printf '%s radius=%s scale=%s truth=%d rel_l2=%.3f\n' "$method" "$radius" "$scale" "$ti" "$(metric rel_l2 "$dir/metrics.json")"
  done
done
