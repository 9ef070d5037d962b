#!/bin/sh
# End-to-end check of `enkg eht observe` and `enkg eht chisq` against the ehtim reference
# (python3-numpy needed). From the repository root: sh interferometry/testdata/cli_check.sh
set -e
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
R=interferometry/testdata
go build -o "$T/enkg" ./cmd/enkg
"$T/enkg" eht observe --image $R/image1.npy --fov-uas 160 --dut1 0.4546 --out "$T/obs.npz"
"$T/enkg" eht observe --image $R/image1.npy --fov-uas 160 --dut1 0.4546 --noise --seed 1 --out "$T/noisy.npz"
/usr/bin/python3 - "$T" <<'PY'
import sys, numpy as np
T, R = sys.argv[1], "interferometry/testdata/"
d = np.load(T + "/obs.npz")  # no allow_pickle: stations must be a '<U' array
assert list(d["stations"]) == ["ALMA", "LMT", "PV", "APEX", "SMA", "SMT", "SPT", "JCMT"], d["stations"]
assert d["vis"].dtype == np.complex128 and d["vis"].shape == (837,)
# uv from UTC with DUT1 = 0.4546 s: |ΔV| ≤ 2.5e-5 Jy (README caveat 1).
assert np.abs(d["vis"] - np.load(R + "obs_vis_noiseless.npy")).max() < 2.5e-5
for k in ["t1", "t2"]:
    assert (d[k] == np.load(R + "obs_" + k + ".npy")).all()
for k in ["t1", "t2", "t3"]:
    assert (d["cphase_min_" + k] == np.load(R + "cphase_min_" + k + ".npy")).all()
for k in ["t1", "t2", "t3", "t4"]:
    assert (d["logcamp_min_" + k] == np.load(R + "logcamp_min_" + k + ".npy")).all()
assert np.abs(d["cphase_min"] - np.load(R + "cphase_min_cphase_deg.npy")).max() < 1e-3
assert np.abs(d["logcamp_min"] - np.load(R + "logcamp_min_camp.npy")).max() < 1e-5
assert np.abs(d["sigma"] - np.load(R + "obs_sigma.npy")).max() < 1e-15
print("observe: OK")
PY
"$T/enkg" eht chisq --image $R/image1.npy --obs "$T/obs.npz" --fov-uas 160
"$T/enkg" eht chisq --image $R/image1.npy --obs "$T/noisy.npz" --fov-uas 160
