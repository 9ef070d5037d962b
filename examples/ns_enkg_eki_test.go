package examples_test

import (
	"context"
	"testing"

	"github.com/enkg-go/enkg/enkgtest"
	"github.com/enkg-go/enkg/figures"
	"github.com/enkg-go/enkg/guidance"
)

// TestNavierStokesEnKGvsEKI compares EnKG with ensemble Kalman inversion (EKI) on the
// Navier–Stokes inverse problem at CPU scale, at an equal budget of forward evaluations
// (EKI iterates as many Kalman updates as EnKG makes, with the same scale 2 and ensemble
// size), and exports the relative-L2 table (table.json), the means and the truth.
//
// The prior is a smooth spectral Gaussian (GRF α = 4, τ = 3, divided by the scale 10) rather
// than the published data's rough field (α = 2.5, τ = 7): with J ≤ 128 members neither method
// recovers more than the prior mean from the rough field at 32² (measured rel L2 0.85–1.2 for
// both at T = 0.1 … 1), because the ensemble spans too few of its modes. With a Gaussian
// prior, EKI — which starts from exact prior samples — is the stronger method at this scale;
// EnKG's advantage in the paper comes from a trained, non-Gaussian prior and J = 2048.
//
// Measured (seed 0, 2 shared cores):
//
//	short: 32², T = 0.25, J = 64, N = 20; full: 64², T = 1, J = 128, N = 20.
//
// Asserted: equal budgets; both means beat the prior mean (rel L2 1) by a margin,
// rel L2 < 0.9 (measured values in examples/README.md).
func TestNavierStokesEnKGvsEKI(t *testing.T) {
	n, T, members, steps, noise := 32, 0.25, 64, 20, 0.0
	if enkgtest.Full() {
		n, T, members, steps = 64, 1, 128, 20
	}
	seed := enkgtest.Seed(t, 0)
	p := newNSProblem(t, n, T, 4, 3, noise, seed)
	ctx := context.Background()

	es := guidance.EnKGNavierStokes()
	es.Members, es.Steps, es.Seed = members, steps, seed
	enkg, err := guidance.NewEnKG(es)
	if err != nil {
		t.Fatal(err)
	}
	ks := guidance.DefaultEKISettings()
	ks.Members, ks.Iterations, ks.Scale, ks.Seed = members, guidedUpdates(es), es.Scale, seed
	eki, err := guidance.NewEKI(ks)
	if err != nil {
		t.Fatal(err)
	}

	type row struct {
		Method  string  `json:"method"`
		RelL2   float64 `json:"rel_l2"`
		Forward int64   `json:"forward_evaluations"`
		Wall    float64 `json:"wall_seconds"`
	}
	var table []row
	results := map[string]*guidance.Result{}
	for _, m := range []guidance.Method{enkg, eki} {
		res, err := p.Run(ctx, m, guidance.Options{})
		if err != nil {
			t.Fatal(err)
		}
		results[res.Method] = res
		table = append(table, row{res.Method, res.Metrics["rel_l2"], res.Counts.Forward, res.Wall.Seconds()})
		t.Logf("%-5s rel L2 %.4f  forward evaluations %d  wall %.2fs", res.Method, res.Metrics["rel_l2"], res.Counts.Forward, res.Wall.Seconds())
		enkgtest.SaveNPY(t, res.Method+"_mean.npy", []int{n, n}, res.Mean)
		enkgtest.SavePNG(t, res.Method+"_mean.png", res.Mean, n, n,
			figures.Options{Title: res.Method + " mean", Colormap: figures.Diverging, Symmetric: true})
	}
	enkgtest.SaveNPY(t, "truth.npy", []int{n, n}, p.Truth)
	enkgtest.SavePNG(t, "truth.png", p.Truth, n, n, figures.Options{Title: "truth", Colormap: figures.Diverging, Symmetric: true})
	enkgtest.SaveJSON(t, "table.json", table)

	if e, k := table[0], table[1]; e.Forward != k.Forward {
		t.Errorf("budgets differ: EnKG %d, EKI %d forward evaluations", e.Forward, k.Forward)
	}
	for _, r := range table {
		if r.RelL2 >= 0.9 {
			t.Errorf("%s relative L2 %.3f, want < 0.9 (the prior mean has 1)", r.Method, r.RelL2)
		}
	}
}
