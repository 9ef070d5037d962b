#!/usr/bin/env bash
# Interim `make demo`: the Navier–Stokes forward problem of the EnKG paper, end to end with
# the enkg command-line tool.
#
#   bash scripts/demo.sh BIN OUTDIR [DATADIR]
#
#   1. sample 4 initial vorticities w0 on a 128×128 grid from the Gaussian random field prior
#      of the paper (alpha 2.5, tau 7) with `enkg grf sample`;
#   2. spin them up to T = 5 at Re = 200 with Kolmogorov forcing −4cos(4y) (the states x to
#      infer);
#   3. evolve x for T = 1 more (the forward model): full fields, and every second grid point
#      (64×64, the observation y of the paper);
#   4. cross-check the adaptive forward solve against a fixed small step.
#
# Each stage solves the stack in parallel, each member with its own adaptive time step.
# DATADIR is not needed yet (kept for the full demo). Runs in well under a minute on 2 cores.
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 BIN OUTDIR [DATADIR]" >&2
	exit 2
fi
BIN=$1
OUT=$2
mkdir -p "$OUT"
here=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)

echo "== enkg demo: 2-D Navier–Stokes (vorticity form), Re = 200, Kolmogorov forcing −4cos(4y)"
if "$BIN" grf sample --help >/dev/null 2>&1; then
	echo "-- 1. Gaussian random field initial vorticities (4 fields, 128×128, seed 0)"
	"$BIN" grf sample --res 128 --n 4 --seed 0 --out "$OUT/w0.npy"
else
	echo "-- 1. (no 'enkg grf sample' in this build) using the reference GRF sample pde/testdata/a_seed0_w0.npy"
	cp "$here/pde/testdata/a_seed0_w0.npy" "$OUT/w0.npy"
fi

echo "-- 2. spin-up to T = 5 (the states x to infer)"
"$BIN" ns simulate --in "$OUT/w0.npy" --out "$OUT/x.npy" --time 5 --re 200

echo "-- 3. forward model: evolve x to T = 1 (full fields; every 2nd point = the observation y)"
"$BIN" ns simulate --in "$OUT/x.npy" --out "$OUT/yfull.npy" --time 1 --re 200
"$BIN" ns simulate --in "$OUT/x.npy" --out "$OUT/y.npy" --time 1 --re 200 --stride 2 -q

echo "-- 4. cross-check: the forward solve with a fixed step dt = 1e-3"
"$BIN" ns simulate --in "$OUT/x.npy" --out "$OUT/yfull_dt1e-3.npy" --time 1 --re 200 --dt 1e-3 -q

PY=python3
if ! "$PY" -c "import numpy" >/dev/null 2>&1 && [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; fi
if "$PY" -c "import numpy" >/dev/null 2>&1; then
	"$PY" - "$OUT" <<'PYEOF'
import sys
import numpy as np
out = sys.argv[1]
w0, x, yf, yd, y = (np.load(f"{out}/{n}.npy") for n in ("w0", "x", "yfull", "yfull_dt1e-3", "y"))
rel = np.linalg.norm((yf - yd).ravel()) / np.linalg.norm(yd.ravel())
print(f"   vorticity range: w0 [{w0.min():.2f}, {w0.max():.2f}], x [{x.min():.2f}, {x.max():.2f}], y [{y.min():.2f}, {y.max():.2f}]")
print(f"   adaptive vs fixed-step (dt = 1e-3) forward solution: relative L2 difference {rel:.2e}")
assert rel < 1e-3, "adaptive and fixed-step solutions disagree"
assert np.array_equal(y, yf[..., ::2, ::2]), "y must equal yfull[..., ::2, ::2]"
print(f"   y.npy {y.shape} equals yfull[..., ::2, ::2]")
PYEOF
fi

echo "== done in $(($(date +%s) - start)) s. Outputs (numpy .npy, float64) in $OUT:"
echo "   w0.npy            initial vorticities (GRF)"
echo "   x.npy             spun-up states (T = 5)"
echo "   yfull.npy         forward-model output (x evolved to T = 1, adaptive steps)"
echo "   y.npy             observations yfull[..., ::2, ::2] (64×64)"
echo "   yfull_dt1e-3.npy  the forward solve with a fixed step dt = 1e-3"
