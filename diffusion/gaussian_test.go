package diffusion

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

func testGaussian2D(t *testing.T) (*Gaussian, []float64, *mat.SymDense) {
	mu := []float64{0.4, -0.7}
	cov := mat.NewSymDense(2, []float64{1.5, 0.9, 0.9, 0.8})
	g, err := NewGaussian(mu, cov)
	if err != nil {
		t.Fatal(err)
	}
	return g, mu, cov
}

func TestGaussianTweedie2D(t *testing.T) {
	g, mu, _ := testGaussian2D(t)
	for _, sigma := range []float64{0.2, 0.9, 3} {
		x := []float64{2.1, -1.5}
		want := tweedieGrid(g.LogProb, x, sigma, -10, 10, 500)
		closeVec(t, "Gaussian 2-D Tweedie", denoiseOne(t, g, x, sigma), want, 1e-6)
	}
	checkLimits(t, g, []float64{3, -4}, mu, 1e-9)
	// Closed form D = μ + Σ(Σ+σ²I)⁻¹(x−μ) by a linear solve.
	cov := g.Cov()
	var a mat.Dense
	a.CloneFrom(cov)
	a.Set(0, 0, a.At(0, 0)+0.49)
	a.Set(1, 1, a.At(1, 1)+0.49)
	var z, y mat.VecDense
	if err := z.SolveVec(&a, mat.NewVecDense(2, []float64{1 - mu[0], 2 - mu[1]})); err != nil {
		t.Fatal(err)
	}
	y.MulVec(cov, &z)
	closeVec(t, "closed form", denoiseOne(t, g, []float64{1, 2}, 0.7), []float64{mu[0] + y.AtVec(0), mu[1] + y.AtVec(1)}, 1e-12)
}

func TestGaussianLogProbAndSample(t *testing.T) {
	g, mu, cov := testGaussian2D(t)
	// log density against the direct formula.
	x := []float64{1, 0.3}
	var ch mat.Cholesky
	ch.Factorize(cov)
	var z mat.VecDense
	_ = ch.SolveVecTo(&z, mat.NewVecDense(2, []float64{x[0] - mu[0], x[1] - mu[1]}))
	q := (x[0]-mu[0])*z.AtVec(0) + (x[1]-mu[1])*z.AtVec(1)
	want := -0.5*q - 0.5*ch.LogDet() - math.Log(2*math.Pi)
	if got := g.LogProb(x); math.Abs(got-want) > 1e-12 {
		t.Fatalf("LogProb %v, want %v", got, want)
	}
	momentsExact(t, "Gaussian.Sample", g, mu, cov, 20000)
}

// momentsExact checks Sample's mean and covariance within 4.5 standard errors.
func momentsExact(t *testing.T, name string, p Prior, mu []float64, cov *mat.SymDense, n int) {
	t.Helper()
	dim := len(mu)
	x := mat.NewDense(n, dim, nil)
	if err := p.Sample(context.Background(), x, 5); err != nil {
		t.Fatal(err)
	}
	for a := 0; a < dim; a++ {
		ma, _ := meanVar(mat.Col(nil, a, x))
		if se := math.Sqrt(cov.At(a, a) / float64(n)); math.Abs(ma-mu[a]) > 4.5*se {
			t.Errorf("%s: mean[%d] = %v, want %v ± %v", name, a, ma, mu[a], se)
		}
		for b := a; b < dim; b++ {
			mb, _ := meanVar(mat.Col(nil, b, x))
			c := 0.0
			for i := 0; i < n; i++ {
				c += (x.At(i, a) - ma) * (x.At(i, b) - mb)
			}
			c /= float64(n - 1)
			se := math.Sqrt((cov.At(a, a)*cov.At(b, b) + cov.At(a, b)*cov.At(a, b)) / float64(n))
			if math.Abs(c-cov.At(a, b)) > 4.5*se {
				t.Errorf("%s: cov[%d,%d] = %v, want %v ± %v", name, a, b, c, cov.At(a, b), se)
			}
		}
	}
}

// The full-covariance prior sampled by Euler and Heun (correlated Σ).
func TestSamplersCorrelatedGaussian(t *testing.T) {
	g, mu, cov := testGaussian2D(t)
	for _, s := range []Sampler{{Steps: 1024}, {Steps: 128, Solver: Heun}} {
		// Exact flow from N(0, σ_max² I): x(0) = μ + C(x0 − μ), C = Σ^{1/2}(Σ+σ²I)^{-1/2}.
		vals, vecs := g.Eigen()
		const smax = 80.0
		c := mat.NewDense(2, 2, nil)
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				v := 0.0
				for k, l := range vals {
					v += vecs.At(i, k) * math.Sqrt(l/(l+smax*smax)) * vecs.At(j, k)
				}
				c.Set(i, j, v)
			}
		}
		var cm mat.VecDense
		cm.MulVec(c, mat.NewVecDense(2, mu))
		m := []float64{mu[0] - cm.AtVec(0), mu[1] - cm.AtVec(1)}
		var cc mat.Dense
		cc.Mul(c, c.T())
		tc := mat.NewSymDense(2, []float64{cc.At(0, 0) * smax * smax, cc.At(0, 1) * smax * smax, cc.At(0, 1) * smax * smax, cc.At(1, 1) * smax * smax})
		momentCheck(t, "correlated "+s.Solver.String(), s, m, tc, g, 10000)
		_ = cov
	}
}

func TestFitGaussian(t *testing.T) {
	g, mu, cov := testGaussian2D(t)
	data := mat.NewDense(50000, 2, nil)
	_ = g.Sample(context.Background(), data, 3)
	f, err := FitGaussian(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	closeVec(t, "fitted mean", f.Mean(), mu, 0.02)
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			if math.Abs(f.Cov().At(i, j)-cov.At(i, j)) > 0.03 {
				t.Errorf("fitted cov[%d,%d] = %v, want %v", i, j, f.Cov().At(i, j), cov.At(i, j))
			}
		}
	}
	// Shrinkage: Σ = (1−α)S + α·tr(S)/D·I exactly.
	f5, _ := FitGaussian(data, 0.5)
	m := (f.Cov().At(0, 0) + f.Cov().At(1, 1)) / 2
	if w := 0.5*f.Cov().At(0, 0) + 0.5*m; math.Abs(f5.Cov().At(0, 0)-w) > 1e-12 {
		t.Errorf("shrunk variance %v, want %v", f5.Cov().At(0, 0), w)
	}
	if w := 0.5 * f.Cov().At(0, 1); math.Abs(f5.Cov().At(0, 1)-w) > 1e-12 {
		t.Errorf("shrunk covariance %v, want %v", f5.Cov().At(0, 1), w)
	}
}

// Fewer samples than dimensions: the sample covariance is singular (an error), and
// Ledoit–Wolf both regularises it and matches a naive evaluation of its formula.
func TestFitGaussianLedoitWolf(t *testing.T) {
	const n, d = 8, 20
	data := mat.NewDense(n, d, nil)
	r := rng.New(4)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			data.Set(i, j, r.NormFloat64()*(1+float64(j%3)))
		}
	}
	if _, err := FitGaussian(data, 0); !errors.Is(err, ErrParam) {
		t.Fatalf("singular sample covariance accepted: %v", err)
	}
	g, err := FitGaussian(data, -1)
	if err != nil {
		t.Fatal(err)
	}
	// Naive Ledoit–Wolf.
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			mean[j] += data.At(i, j) / n
		}
	}
	sn := mat.NewDense(d, d, nil)
	outer := func(i int) *mat.Dense {
		o := mat.NewDense(d, d, nil)
		for a := 0; a < d; a++ {
			for b := 0; b < d; b++ {
				o.Set(a, b, (data.At(i, a)-mean[a])*(data.At(i, b)-mean[b]))
			}
		}
		return o
	}
	for i := 0; i < n; i++ {
		sn.Add(sn, outer(i))
	}
	sn.Scale(1.0/n, sn)
	mu := mat.Trace(sn) / d
	var dd mat.Dense
	dd.CloneFrom(sn)
	for a := 0; a < d; a++ {
		dd.Set(a, a, dd.At(a, a)-mu)
	}
	delta := mat.Norm(&dd, 2)
	delta = delta * delta / d
	beta := 0.0
	for i := 0; i < n; i++ {
		var e mat.Dense
		e.Sub(outer(i), sn)
		f := mat.Norm(&e, 2)
		beta += f * f / d
	}
	beta /= n * n
	alpha := math.Min(beta, delta) / delta
	// The fitted Σ is (1−α)S + α·m·I with the unbiased S.
	s01 := 0.0
	for i := 0; i < n; i++ {
		s01 += (data.At(i, 0) - mean[0]) * (data.At(i, 1) - mean[1])
	}
	s01 /= n - 1
	if got := g.Cov().At(0, 1); math.Abs(got-(1-alpha)*s01) > 1e-10 {
		t.Fatalf("Ledoit–Wolf Σ[0,1] = %v, naive α = %v gives %v", got, alpha, (1-alpha)*s01)
	}
	if !(alpha > 0 && alpha < 1) {
		t.Fatalf("α = %v", alpha)
	}
}

func TestGaussianBadInput(t *testing.T) {
	if _, err := NewGaussian([]float64{0, 0}, mat.NewDense(2, 2, []float64{1, 0.5, 0.4, 1})); !errors.Is(err, ErrParam) {
		t.Errorf("asymmetric: %v", err)
	}
	if _, err := NewGaussian([]float64{0, 0}, mat.NewSymDense(2, []float64{1, 2, 2, 1})); !errors.Is(err, ErrParam) {
		t.Errorf("indefinite: %v", err)
	}
	if _, err := NewGaussian([]float64{0, 0}, mat.NewSymDense(2, []float64{1, 1, 1, 1})); !errors.Is(err, ErrParam) {
		t.Errorf("singular: %v", err)
	}
	if _, err := NewGaussian([]float64{0, 0, 0}, mat.NewSymDense(2, []float64{1, 0, 0, 1})); !errors.Is(err, ErrDim) {
		t.Errorf("dimension: %v", err)
	}
	if _, err := NewGaussian([]float64{0, 0}, mat.NewSymDense(2, []float64{1, math.NaN(), math.NaN(), 1})); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN: %v", err)
	}
	if _, err := FitGaussian(mat.NewDense(1, 3, nil), 0.1); !errors.Is(err, ErrDim) {
		t.Errorf("one sample: %v", err)
	}
	g, _, _ := testGaussian2D(t)
	x := mat.NewDense(2, 2, []float64{1, 2, math.NaN(), 0})
	if err := g.Denoise(context.Background(), x, x, 1); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN input: %v", err)
	}
	if err := g.Denoise(context.Background(), x, x, -1); !errors.Is(err, ErrParam) {
		t.Errorf("σ<0: %v", err)
	}
}
