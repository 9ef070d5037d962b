#!/usr/bin/env bash
# How EnKG with the neural prior improves with its budget on the study's problem (64², Re = 200,
# T = 1, every 2nd point, σ = 0): the study's setting (J = 128, N = 8) against 4× the members
# and 4× the steps, on the first ENKG_NS_TRUTHS (default 2) held-out truths (fields of
# `enkg data ns --seed 1000`). Each setting runs scripts/ns-study.sh into its own folder
# (resumable) and the per-truth rows are gathered into out/ns-budget/budget.md.
#
#   scripts/ns-budget.sh                    # J,N[,ODE] = 128,8  128,8,20  128,32  512,8 on truths 0–1
#   ENKG_NS_BUDGETS="128,8 256,16 128,8,4" scripts/ns-budget.sh   # J,N[,max_ode_steps]
#
# A third number sets algorithm.enkg.max_ode_steps (the study uses 1: x̂0 = D(x; σ); more steps
# integrate the probability-flow ODE from σ to 0 for x̂0, as the published code does, at that
# many times the U-Net evaluations per update).
#
# Cost on 2 cores: a solve costs about J·(3N − 2) U-Net evaluations (≈ 40 ms each idle) and
# 2J(N − 1) forward solves (≈ 13 ms each): ≈ 2 min at 128,8 and ≈ 8 min at 128,32 or 512,8.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${ENKG_NS_BUDGET_OUT:-$PWD/out/ns-budget}"
truths="${ENKG_NS_TRUTHS:-2}"
mkdir -p "$out"
{
  echo "EnKG (neural), Navier–Stokes 64², σ = 0: rel. L2 of the mean per held-out truth (fields of \`enkg data ns --seed 1000\`) against the budget; produced by scripts/ns-budget.sh."
  echo
  echo "| J | N | ODE steps | forward evals | U-Net evals | truth | rel. L2 | wall [s] |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$out/budget.md.tmp"
for b in ${ENKG_NS_BUDGETS:-128,8 128,8,20 128,32 512,8}; do
  IFS=, read -r J N ODE <<<"$b"
  ODE=${ODE:-1}
  name="J${J}-N${N}-ode${ODE}"
  ENKG_NS_OUT="$out/$name" ENKG_NS_TRUTHS="$truths" ENKG_NS_SIGMAS=0 ENKG_NS_METHODS="EnKG (neural)" \
    ENKG_NS_SETS="algorithm.enkg.members=$J;algorithm.enkg.steps=$N;algorithm.enkg.max_ode_steps=$ODE" \
    bash scripts/ns-study.sh >"$out/$name.log" 2>&1 \
    || { echo "ns-budget: $name failed, see $out/$name.log" >&2; exit 1; }
  # per_truth.csv: sigma,method,truth,rel_l2,forward,denoiser,wall_s,failed
  tail -n +2 "$out/$name/per_truth.csv" | while IFS=, read -r _ _ truth rel fwd den wall _; do
    echo "| $J | $N | $ODE | $fwd | $den | $truth | $rel | $wall |"
  done >> "$out/budget.md.tmp"
  echo "$name done"
done
mv "$out/budget.md.tmp" "$out/budget.md"
cat "$out/budget.md"
