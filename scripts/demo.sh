#!/usr/bin/env bash
# `make demo`: the flagship Navier–Stokes inverse problem of the EnKG paper at CPU scale.
#
#   bash scripts/demo.sh BIN OUTDIR [DATADIR]
#
# Runs `enkg demo` (see `enkg demo --help`): a 64² Navier–Stokes training set (Re = 200,
# GRF initial vorticities spun up for 5 time units) cached in DATADIR as HDF5, a spectral
# Gaussian prior fitted to it (cached as .npz), a held-out truth observed 1 time unit later
# on every 2nd point with noise, and EnKG vs EKI at the same number of forward-model
# evaluations (and "EnKG (neural)" when priors/ns64 holds the trained prior). Figures,
# arrays, summary.json and README.txt go to OUTDIR. A second run
# reuses the cached data and prior. Extra flags for `enkg demo` can be passed in
# ENKG_DEMO_FLAGS (e.g. ENKG_DEMO_FLAGS="--members 128 --steps 20").
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 BIN OUTDIR [DATADIR]" >&2
	exit 2
fi
BIN=$1
OUT=$2
DATA=${3:-data}
mkdir -p "$OUT" "$DATA"

# shellcheck disable=SC2086
"$BIN" demo --data "$DATA" --out "$OUT" ${ENKG_DEMO_FLAGS:-}

# Optional check from Python (numpy): the saved arrays reproduce the printed table.
PY=python3
if ! "$PY" -c "import numpy" >/dev/null 2>&1 && [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; fi
if "$PY" -c "import numpy" >/dev/null 2>&1; then
	"$PY" - "$OUT" <<'PYEOF'
import json, sys
import numpy as np
out = sys.argv[1]
truth = np.load(f"{out}/truth.npy")
summary = json.load(open(f"{out}/summary.json"))
for row in summary["results"]:
    m = row["method"]
    name = "prior_mean" if m == "prior mean" else m.lower().replace(" ", "_").replace("(", "").replace(")", "") + "_mean"
    est = np.load(f"{out}/{name}.npy")
    rel = np.linalg.norm(est - truth) / np.linalg.norm(truth)
    assert abs(rel - row["rel_l2"]) < 1e-9, (row["method"], rel, row["rel_l2"])
print(f"numpy check: the relative L2 errors recompute from {out}/*.npy")
PYEOF
fi
