package examples_test

import (
	"context"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/pde"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

// nsProblem is the Navier–Stokes inverse problem of the EnKG paper at a CPU size: recover the
// normalised initial vorticity x (n×n) from y = Φ_T(10·x)[::2, ::2] + η, with Re = 200, T = 1,
// Kolmogorov forcing, and a spectral Gaussian prior whose samples are the GRF of the
// published data (α = 2.5, τ = 7) divided by the scale 10. The truth is a prior sample from a
// stream of its own.
type nsProblem struct {
	n       int
	truth   []float64
	obs     []float64
	prior   *diffusion.SpectralGaussian
	problem *guidance.Problem
}

func newNSProblem(t testing.TB, n int, T, alpha, tau, noise float64, seed uint64) *nsProblem {
	t.Helper()
	const scale = 10
	grf, err := spectral.NewGRF(n, n, spectral.GRFSettings{Alpha: alpha, Tau: tau})
	if err != nil {
		t.Fatal(err)
	}
	g, err := diffusion.NewSpectralGaussianFromGRF(grf)
	if err != nil {
		t.Fatal(err)
	}
	power := append([]float64(nil), g.Power()...)
	for i := range power {
		power[i] /= scale * scale
	}
	prior, err := diffusion.NewSpectralGaussian(n, n, nil, power)
	if err != nil {
		t.Fatal(err)
	}
	os := pde.DefaultOperatorSettings()
	os.Nx, os.Ny, os.Scale, os.T, os.Stride = n, n, scale, T, 2
	factory, err := pde.OperatorFactory(os)
	if err != nil {
		t.Fatal(err)
	}
	truth := mat.NewDense(1, n*n, nil)
	if err := prior.Sample(context.Background(), truth, rng.Sub(seed, "truth")); err != nil {
		t.Fatal(err)
	}
	op, err := factory()
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]float64, op.OutputDim())
	if err := op.Forward(context.Background(), obs, truth.RawRowView(0)); err != nil {
		t.Fatal(err)
	}
	r := rng.New(rng.Sub(seed, "noise"))
	for i := range obs {
		obs[i] += noise * r.NormFloat64()
	}
	var misfit operator.Misfit = operator.Gaussian{Sigma: 1}
	if noise > 0 {
		misfit = operator.Gaussian{Sigma: noise}
	}
	return &nsProblem{n: n, truth: truth.RawRowView(0), obs: obs, prior: prior,
		problem: &guidance.Problem{Observation: obs, Forward: factory, Misfit: misfit, Prior: prior, Sampler: prior}}
}

// guidedUpdates is the number of Kalman updates EnKG makes: updates per guided step times the
// guided steps i with start·N < i < N − ⌊end·N⌋.
func guidedUpdates(s guidance.EnKGSettings) int {
	n := 0
	for i := range s.Steps {
		if float64(i) > s.ThresholdStart*float64(s.Steps) && i < s.Steps-int(s.ThresholdEnd*float64(s.Steps)) {
			n++
		}
	}
	return n * s.Updates
}
