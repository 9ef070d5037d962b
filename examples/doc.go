// Package examples holds science scripts written as Go tests: runnable inverse-problem studies
// that set up a problem, run a solver, assert what must hold and export arrays and figures for
// Python. The package has no exported API; its content is its _test.go files:
//
//   - minimal_test.go — the smallest complete script (the README's "Science scripts" example):
//     a Gaussian random field seen on every 2nd grid point after a Navier–Stokes solve to T = 0.25,
//     recovered by EnKG with a spectral Gaussian prior;
//   - ns_convergence_test.go — convergence of the Navier–Stokes solver in the time step
//     (measured order 2, Heun/Crank–Nicolson) and in the resolution (spectral: the local order
//     grows as the grid is refined);
//   - ns_enkg_eki_test.go — EnKG against EKI on the Navier–Stokes inverse problem at CPU scale,
//     with the relative-L2 table exported;
//   - blackhole_test.go — black-hole imaging of a crescent observed by the EHT 2017 array,
//     EnKG with a Gaussian-mixture prior fitted to random ring/crescent images, closure χ²;
//   - ensemble_size_test.go — EnKG error and cost against the ensemble size J = 16 … 256.
//
// Every study runs a short form under plain `go test` (a few seconds, part of `make test`)
// and its full form with `-enkg.full` or ENKG_FULL=1. Arrays (.npy/.npz), tables (.json) and
// figures (.png) are written under `-enkg.artifacts DIR` or $ENKG_ARTIFACTS, one folder per
// test, and to a temporary directory otherwise:
//
//	go test ./examples -run NavierStokesConvergence -v -enkg.full -enkg.artifacts out/examples
//
// The tolerances asserted are derived from measured runs; each test states the measured values
// next to its bounds. See README.md in this folder for the measured times.
package examples
