package examples_test

import (
	"context"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/enkgtest"
	"github.com/enkg-go/enkg/figures"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/pde"
	"github.com/enkg-go/enkg/spectral"
)

// TestMinimalScript recovers an initial vorticity field from the vorticity at T = 0.25 seen
// on every 2nd grid point, with EnKG and a Gaussian-random-field prior.
func TestMinimalScript(t *testing.T) {
	ctx := context.Background()
	const n = 32

	// Prior: a Gaussian random field on the 2π-periodic n×n grid, with its exact denoiser.
	grf, err := spectral.NewGRF(n, n, spectral.GRFSettings{Alpha: 4, Tau: 3})
	if err != nil {
		t.Fatal(err)
	}
	prior, err := diffusion.NewSpectralGaussianFromGRF(grf)
	if err != nil {
		t.Fatal(err)
	}

	// Forward model: Navier–Stokes (Re = 200, Kolmogorov forcing) to T = 0.25, every 2nd point.
	factory, err := pde.OperatorFactory(pde.OperatorSettings{Nx: n, Ny: n, Scale: 1, T: 0.25, Stride: 2})
	if err != nil {
		t.Fatal(err)
	}
	op, err := factory()
	if err != nil {
		t.Fatal(err)
	}

	// Truth (a prior draw) and its noiseless observation.
	truth := mat.NewDense(1, n*n, nil)
	if err := prior.Sample(ctx, truth, enkgtest.Seed(t, 7)); err != nil {
		t.Fatal(err)
	}
	obs := make([]float64, op.OutputDim())
	if err := op.Forward(ctx, obs, truth.RawRowView(0)); err != nil {
		t.Fatal(err)
	}

	// Solve with EnKG: 64 members, 20 steps, the published Navier–Stokes settings otherwise.
	s := guidance.EnKGNavierStokes()
	s.Members, s.Steps = 64, 20
	enkg, err := guidance.NewEnKG(s)
	if err != nil {
		t.Fatal(err)
	}
	res, err := guidance.Solve(ctx, &guidance.Problem{Observation: obs, Forward: factory, Prior: prior}, enkg, guidance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Evaluate(truth.RawRowView(0), nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("relative L2 error %.3f with %d forward evaluations", res.Metrics["rel_l2"], res.Counts.Forward)

	// Assert what must hold: the estimate is much closer to the truth than the prior mean (0).
	if e := res.Metrics["rel_l2"]; e > 0.6 {
		t.Errorf("relative L2 error %.3f, want ≤ 0.6", e)
	}

	// Export for Python (written only with -enkg.artifacts DIR or ENKG_ARTIFACTS=DIR).
	enkgtest.SaveNPZ(t, "result.npz",
		enkgtest.Entry{Name: "truth", Shape: []int{n, n}, Data: truth.RawRowView(0)},
		enkgtest.Entry{Name: "mean", Shape: []int{n, n}, Data: res.Mean},
		enkgtest.Entry{Name: "std", Shape: []int{n, n}, Data: res.Std})
	enkgtest.SavePNG(t, "mean.png", res.Mean, n, n,
		figures.Options{Title: "EnKG mean", Colormap: figures.Diverging, Symmetric: true})
}
