package examples_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/problem"
)

// newNSProblem is the Navier–Stokes inverse problem of the EnKG paper at a CPU size, built by
// package problem: recover the initial vorticity w (n×n, physical units) from
// y = Φ_T(w)[::2, ::2] + η, with Re = 200, T, Kolmogorov forcing, and the spectral Gaussian
// prior of the GRF(alpha, tau) fields (normalised space w/10, as the published prior). The
// truth is a prior draw from a stream of its own (truth.seed); the noise is drawn per truth.
// The methods run through Problem.Run, which reports the ensemble, mean and spread in
// vorticity units.
func newNSProblem(t testing.TB, n int, T, alpha, tau, noise float64, seed uint64) *problem.Problem {
	t.Helper()
	c, err := problem.Parse(fmt.Sprintf(`
problem: {kind: navier-stokes, size: %d, stride: 2, t: %g, noise: %g}
prior: {kind: grf, alpha: %g, tau: %g}
truth: {source: prior, seed: %d}
`, n, T, noise, alpha, tau, seed))
	if err != nil {
		t.Fatal(err)
	}
	p, err := problem.Build(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// guidedUpdates is the number of Kalman updates EnKG makes (its forward budget per member).
func guidedUpdates(s guidance.EnKGSettings) int {
	return s.GuidedSteps() * s.Updates
}
