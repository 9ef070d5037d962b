#!/usr/bin/env bash
# The paper's Navier–Stokes comparison at 64² on held-out truths (README table): EnKG with the
# neural prior priors/ns64, EKI, DPG, SCG, forward/central GSG (neural prior), EnKG with a
# Gaussian prior fitted to the training set, the prior mean; σ = 0, 1, 2; a noise-aware row
# (discrepancy τ = 1) for EnKG and EKI at σ > 0; localized EnKG and EKI (an option, not the
# published algorithms; radius and scale from scripts/ns-localize-tune.sh on validation
# truths). Resumable: rerun to continue. Writes
# out/ns-study/table.md (and every solve's outputs under out/ns-study/).
#
#   scripts/ns-study.sh                                   # 10 truths, σ = 0,1,2, every method
#   ENKG_NS_TRUTHS=3 ENKG_NS_SIGMAS=0 scripts/ns-study.sh # a quick look
#   ENKG_NS_METHODS="EnKG (neural),EKI,prior mean" scripts/ns-study.sh
#   ENKG_NS_CACHED=1 scripts/ns-study.sh                  # only tabulate the solves already saved
#   ENKG_NS_RECORDED=results/ns-study/per_truth.csv ENKG_NS_CACHED=1 scripts/ns-study.sh
#                                                         # ... with the committed solves of other machines
#   ENKG_NS_RECORD=$PWD/results/ns-study/per_truth.csv scripts/ns-study.sh
#                                                         # each finished solve also goes into the committed
#                                                         # per_truth.csv at once (kept if the machine is lost)
#   scripts/ns-study.sh --tune                            # first: baseline scales on validation truths (seed 2000)
#   ENKG_NS_TUNE_METHODS=enkg scripts/ns-study.sh --tune  # only EnKG's scale (1, 2, 4)
#   ENKG_NS_TUNE_TRUTHS=1 scripts/ns-study.sh --tune      # on the first validation truth only
#
# Cost on 2 cores (idle, estimated from 64² solves and the net.json architecture): EnKG (neural)
# ≈ 3–5 min per solve, the gradient baselines ≈ 2–4 min, EKI and EnKG (Gaussian) ≈ 1 min; the
# full table (10 truths × 3 σ, every row) is many hours — a machine with more cores, or a subset
# (ENKG_NS_METHODS, ENKG_NS_TRUTHS), keeps it practical. ENKG_NS_SETS adds overrides to every row.
#
# Needs priors/ns64/{weights.npz,config.json} and the training set data/ns64-train.h5
# (ENKG_NS_DATA; `enkg data ns --res 64 --spinup 5 --re 200 --seed 0`) for the Gaussian prior.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
for f in priors/ns64/weights.npz priors/ns64/config.json; do
  [[ -f $f ]] || { echo "ns-study: $f is missing (the trained 64² prior)" >&2; exit 1; }
done
export ENKG_NS_OUT="${ENKG_NS_OUT:-$PWD/out/ns-study}"
if [[ "${1:-}" == "--tune" ]]; then
  # Guidance scales of DPG, forward/central GSG and EnKG on 3 validation truths (seed 2000).
  ENKG_NS_TUNE=1 go test ./cmd/enkg -run '^TestNSStudyTune$' -count=1 -timeout 0 -v
  echo "tuning: $ENKG_NS_OUT/tuning.md (copy the best scales into configs/navier-stokes-neural.yaml)"
  exit 0
fi
ENKG_NS_STUDY=1 go test ./cmd/enkg -run '^TestNSStudy$' -count=1 -timeout 0 -v
echo "table: $ENKG_NS_OUT/table.md"
