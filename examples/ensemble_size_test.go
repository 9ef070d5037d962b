package examples_test

import (
	"context"
	"testing"

	"github.com/enkg-go/enkg/enkgtest"
	"github.com/enkg-go/enkg/figures"
	"github.com/enkg-go/enkg/guidance"
)

// TestEnsembleSize runs EnKG on the Navier–Stokes problem (32², smooth spectral Gaussian prior
// as in TestNavierStokesEnKGvsEKI, published scale 2, N = 20 steps, 2 updates) for growing
// ensembles J and records error and cost. The truth, the observation and the schedule are the
// same for every J.
//
// Cost is exact: EnKG evaluates G once per member and Kalman update, so the forward
// evaluations must be J·U with U = 34 guided updates, and the evaluations on the critical path
// (one simulator per member) must be U whatever J. The wall time grows about linearly in J.
//
// Error: small ensembles span too few directions and overshoot (the step is normalised by
// ‖C‖_F); the error falls as J grows. Asserted: the largest ensemble beats the smallest one,
// and the largest one beats the prior mean (rel L2 < 1). Measured values: examples/README.md.
func TestEnsembleSize(t *testing.T) {
	T, sizes := 0.25, []int{16, 32, 64}
	if enkgtest.Full() {
		T, sizes = 1, []int{16, 32, 64, 128, 256}
	}
	seed := enkgtest.Seed(t, 0)
	p := newNSProblem(t, 32, T, 4, 3, 0, seed)
	js := make([]float64, len(sizes))
	errs := make([]float64, len(sizes))
	evals := make([]float64, len(sizes))
	wall := make([]float64, len(sizes))
	for k, j := range sizes {
		s := guidance.EnKGNavierStokes()
		s.Members, s.Steps, s.Seed = j, 20, seed
		m, err := guidance.NewEnKG(s)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Run(context.Background(), m, guidance.Options{})
		if err != nil {
			t.Fatal(err)
		}
		u := int64(guidedUpdates(s))
		if res.Counts.Forward != int64(j)*u || res.Counts.Sequential != u {
			t.Errorf("J = %d: %d forward evaluations (%d sequential), want %d (%d)", j, res.Counts.Forward, res.Counts.Sequential, int64(j)*u, u)
		}
		js[k], errs[k], evals[k], wall[k] = float64(j), res.Metrics["rel_l2"], float64(res.Counts.Forward), res.Wall.Seconds()
		t.Logf("J = %3d  rel L2 %.4f  forward evaluations %6d  wall %.2fs", j, errs[k], res.Counts.Forward, wall[k])
	}
	last := len(sizes) - 1
	if errs[last] >= errs[0] {
		t.Errorf("J = %d: rel L2 %.3f, not below J = %d's %.3f", sizes[last], errs[last], sizes[0], errs[0])
	}
	if errs[last] >= 1 {
		t.Errorf("J = %d: rel L2 %.3f, want < 1 (the prior mean)", sizes[last], errs[last])
	}
	n := []int{len(sizes)}
	enkgtest.SaveNPZ(t, "ensemble_size.npz", enkgtest.Entry{Name: "J", Shape: n, Data: js},
		enkgtest.Entry{Name: "rel_l2", Shape: n, Data: errs}, enkgtest.Entry{Name: "forward", Shape: n, Data: evals},
		enkgtest.Entry{Name: "wall_seconds", Shape: n, Data: wall})
	enkgtest.SaveLines(t, "error.png", figures.Lines{Title: "EnKG: error against ensemble size", XLabel: "J",
		YLabel: "relative L2 error", LogX: true, Series: []figures.Series{{Name: "EnKG", X: js, Y: errs}}})
	enkgtest.SaveLines(t, "cost.png", figures.Lines{Title: "EnKG: cost against ensemble size", XLabel: "J",
		YLabel: "wall time (s)", LogX: true, LogY: true, Series: []figures.Series{{Name: "EnKG", X: js, Y: wall}}})
}
