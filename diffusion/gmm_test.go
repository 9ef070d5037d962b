package diffusion

import (
	"context"
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func testMixtures(t *testing.T) (diag, full *GMM) {
	t.Helper()
	w := []float64{0.5, 0.3, 0.2}
	means := mat.NewDense(3, 2, []float64{-3, 0, 2, 2.5, 2.5, -2.5})
	vars := mat.NewDense(3, 2, []float64{0.5, 1, 0.3, 0.3, 0.8, 0.2})
	diag, err := NewGMMDiag(w, means, vars)
	if err != nil {
		t.Fatal(err)
	}
	covs := []mat.Matrix{
		mat.NewSymDense(2, []float64{0.5, 0.3, 0.3, 1}),
		mat.NewSymDense(2, []float64{0.3, -0.1, -0.1, 0.3}),
		mat.NewSymDense(2, []float64{0.8, 0, 0, 0.2}),
	}
	full, err = NewGMM(w, means, covs)
	if err != nil {
		t.Fatal(err)
	}
	return diag, full
}

func TestGMMTweedie(t *testing.T) {
	diag, full := testMixtures(t)
	for _, g := range []*GMM{diag, full} {
		for _, sigma := range []float64{0.2, 1, 3} {
			for _, x := range [][]float64{{0.3, 1}, {-2, -1}, {4, 0}} {
				want := tweedieGrid(g.LogProb, x, sigma, -9, 9, 300)
				closeVec(t, "mixture 2-D Tweedie", denoiseOne(t, g, x, sigma), want, 1e-6)
			}
		}
		checkLimits(t, g, []float64{1, -1}, g.Mean(), 1e-6)
	}
	// 1-D mixture.
	g1, err := NewGMMDiag([]float64{1, 3}, mat.NewDense(2, 1, []float64{-2, 1.5}), mat.NewDense(2, 1, []float64{0.1, 0.6}))
	if err != nil {
		t.Fatal(err)
	}
	for _, sigma := range []float64{0.05, 0.5, 2} {
		for _, x := range []float64{-3, -0.2, 0.4, 2} {
			want := tweedieGrid(g1.LogProb, []float64{x}, sigma, -8, 8, 40000)
			closeVec(t, "mixture 1-D Tweedie", denoiseOne(t, g1, []float64{x}, sigma), want, 1e-7)
		}
	}
	// Far from every component (σ small): log-sum-exp keeps the result finite.
	if d := denoiseOne(t, g1, []float64{1e3}, 1e-3); math.IsNaN(d[0]) || math.IsInf(d[0], 0) {
		t.Fatalf("overflow: %v", d)
	}
}

// clusterStats assigns each sample to the nearest mean and returns fractions and means.
func clusterStats(x *mat.Dense, means *mat.Dense) ([]float64, *mat.Dense) {
	n, d := x.Dims()
	k, _ := means.Dims()
	frac := make([]float64, k)
	m := mat.NewDense(k, d, nil)
	for i := 0; i < n; i++ {
		best, bd := 0, math.Inf(1)
		for c := 0; c < k; c++ {
			s := 0.0
			for j := 0; j < d; j++ {
				e := x.At(i, j) - means.At(c, j)
				s += e * e
			}
			if s < bd {
				best, bd = c, s
			}
		}
		frac[best]++
		for j := 0; j < d; j++ {
			m.Set(best, j, m.At(best, j)+x.At(i, j))
		}
	}
	for c := 0; c < k; c++ {
		for j := 0; j < d; j++ {
			m.Set(c, j, m.At(c, j)/frac[c])
		}
		frac[c] /= float64(n)
	}
	return frac, m
}

// Sampling a well-separated mixture through its denoiser with Heun (and with the exact
// sampler) recovers its weights and means. Nearest-mean classification misassigns a
// small, equal share in both, so the diffusion sampler is compared with the exact sampler
// (both within Monte Carlo error of each other) and with the truth within 0.02.
func TestGMMSamplingRecoversWeights(t *testing.T) {
	_, g := testMixtures(t)
	const n = 20000
	exact := mat.NewDense(n, 2, nil)
	if err := g.Sample(context.Background(), exact, 1); err != nil {
		t.Fatal(err)
	}
	diff := mat.NewDense(n, 2, nil)
	if err := (&Sampler{Steps: 64, Solver: Heun}).Sample(context.Background(), diff, g, 2); err != nil {
		t.Fatal(err)
	}
	fe, me := clusterStats(exact, g.Means())
	fd, md := clusterStats(diff, g.Means())
	for c, w := range g.Weights() {
		se := math.Sqrt(w * (1 - w) / n)
		if math.Abs(fe[c]-w) > 0.02 || math.Abs(fd[c]-w) > 0.02 || math.Abs(fd[c]-fe[c]) > 4.5*math.Sqrt2*se {
			t.Errorf("component %d: weight %v, exact sampler %v, Heun %v", c, w, fe[c], fd[c])
		}
		for j := 0; j < 2; j++ {
			if math.Abs(md.At(c, j)-g.Means().At(c, j)) > 0.06 || math.Abs(me.At(c, j)-g.Means().At(c, j)) > 0.06 {
				t.Errorf("component %d mean[%d]: %v, exact %v, Heun %v", c, j, g.Means().At(c, j), me.At(c, j), md.At(c, j))
			}
		}
	}
}

func TestFitGMMRecoversMixture(t *testing.T) {
	_, truth := testMixtures(t)
	const n = 8000
	data := mat.NewDense(n, 2, nil)
	_ = truth.Sample(context.Background(), data, 4)
	for _, diagonal := range []bool{false, true} {
		fit, ll, err := FitGMM(context.Background(), data, 3, GMMFitSettings{Seed: 1, Diagonal: diagonal})
		if err != nil {
			t.Fatal(err)
		}
		// Match fitted components to the truth by nearest mean.
		for c := 0; c < 3; c++ {
			best, bd := 0, math.Inf(1)
			for f := 0; f < 3; f++ {
				dx, dy := fit.Means().At(f, 0)-truth.Means().At(c, 0), fit.Means().At(f, 1)-truth.Means().At(c, 1)
				if v := dx*dx + dy*dy; v < bd {
					best, bd = f, v
				}
			}
			if math.Sqrt(bd) > 0.06 || math.Abs(fit.Weights()[best]-truth.Weights()[c]) > 0.02 {
				t.Errorf("diag=%v component %d: mean off by %.3f, weight %.3f vs %.3f", diagonal, c, math.Sqrt(bd), fit.Weights()[best], truth.Weights()[c])
			}
			if !diagonal {
				tc, fc := truth.Cov(c), fit.Cov(best)
				for a := 0; a < 2; a++ {
					for b := 0; b < 2; b++ {
						if math.Abs(tc.At(a, b)-fc.At(a, b)) > 0.06 {
							t.Errorf("component %d cov[%d,%d]: %v vs %v", c, a, b, fc.At(a, b), tc.At(a, b))
						}
					}
				}
			}
		}
		// The fitted likelihood is at least the truth's (EM maximises it) on the full model.
		tl := 0.0
		for i := 0; i < n; i++ {
			tl += truth.LogProb(data.RawRowView(i))
		}
		tl /= n
		if !diagonal && ll < tl-1e-9 {
			t.Errorf("EM log-likelihood %v below the truth's %v", ll, tl)
		}
	}
	// Worker independence.
	a, _, _ := FitGMM(context.Background(), data, 3, GMMFitSettings{Seed: 1, Workers: 1})
	b, _, _ := FitGMM(context.Background(), data, 3, GMMFitSettings{Seed: 1, Workers: 4})
	if !mat.Equal(a.Means(), b.Means()) {
		t.Errorf("FitGMM depends on the number of workers")
	}
}

func TestGMMBadInput(t *testing.T) {
	m := mat.NewDense(2, 2, []float64{0, 0, 1, 1})
	v := mat.NewDense(2, 2, []float64{1, 1, 1, 1})
	if _, err := NewGMMDiag([]float64{1, -1}, m, v); !errors.Is(err, ErrParam) {
		t.Errorf("negative weight: %v", err)
	}
	if _, err := NewGMMDiag([]float64{1}, m, v); !errors.Is(err, ErrDim) {
		t.Errorf("weights/means: %v", err)
	}
	if _, err := NewGMMDiag([]float64{1, 1}, m, mat.NewDense(2, 2, []float64{1, 0, 1, 1})); !errors.Is(err, ErrParam) {
		t.Errorf("zero variance: %v", err)
	}
	if _, err := NewGMM([]float64{1, 1}, m, []mat.Matrix{mat.NewSymDense(2, []float64{1, 2, 2, 1}), mat.NewSymDense(2, []float64{1, 0, 0, 1})}); !errors.Is(err, ErrParam) {
		t.Errorf("indefinite component: %v", err)
	}
	if _, _, err := FitGMM(context.Background(), mat.NewDense(2, 2, nil), 3, GMMFitSettings{}); !errors.Is(err, ErrDim) {
		t.Errorf("too few samples: %v", err)
	}
}

func TestGMMFullBlocksWorkers(t *testing.T) {
	_, g := testMixtures(t)
	x := randomData(150, 2, 3) // several member blocks
	var ref *mat.Dense
	for _, w := range []int{1, 2, 4} {
		g.Workers = w
		out := mat.NewDense(150, 2, nil)
		if err := g.Denoise(context.Background(), out, x, 0.6); err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = out
			// Row by row against the single-member path.
			for i := 0; i < 150; i += 37 {
				closeVec(t, "block vs single", out.RawRowView(i), denoiseOne(t, g, x.RawRowView(i), 0.6), 1e-12)
			}
		} else if !mat.Equal(ref, out) {
			t.Fatalf("workers = %d changes the result", w)
		}
	}
	g.Workers = 0
}
