package diffusion

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// exactFlow is the probability-flow map of N(μ, v) from σ0 down to σ_min, followed by the
// final Euler step to 0 (which every EDM sampler takes, and which equals D(x; σ_min)).
func exactFlow(x, mu, v, sigma0, smin float64) float64 {
	xs := mu + (x-mu)*math.Sqrt((v+smin*smin)/(v+sigma0*sigma0))
	return mu + v/(v+smin*smin)*(xs-mu)
}

// TestSamplerConvergenceOrders measures the global error of Euler and Heun against the
// exact probability-flow map of a Gaussian prior: Euler is first order in N, Heun second.
func TestSamplerConvergenceOrders(t *testing.T) {
	mu := []float64{0.5, -1, 0, 2}
	v := []float64{0.05, 0.8, 2, 6}
	g, _ := NewDiagGaussian(mu, v)
	init := mat.NewDense(3, 4, []float64{80, -40, 120, 10, -70, 30, 5, -90, 160, 0, -80, 60})
	errAt := func(solver Solver, n int) float64 {
		x := mat.DenseCopyOf(init)
		s := Sampler{Steps: n, Solver: solver}
		if err := s.Integrate(context.Background(), x, g, 0); err != nil {
			t.Fatal(err)
		}
		e := 0.0
		for i := 0; i < 3; i++ {
			for j := 0; j < 4; j++ {
				e = math.Max(e, math.Abs(x.At(i, j)-exactFlow(init.At(i, j), mu[j], v[j], 80, 0.002)))
			}
		}
		return e
	}
	for _, c := range []struct {
		solver   Solver
		lo, hi   float64
		ns       []int
		minRatio float64
	}{
		{Euler, 0.85, 1.25, []int{64, 128, 256, 512}, 0},
		{Heun, 1.8, 2.3, []int{32, 64, 128, 256}, 0},
	} {
		var orders []float64
		prev := errAt(c.solver, c.ns[0])
		for _, n := range c.ns[1:] {
			e := errAt(c.solver, n)
			orders = append(orders, math.Log2(prev/e))
			prev = e
		}
		last := orders[len(orders)-1]
		t.Logf("%v: orders %.3f (final error %.2e)", c.solver, orders, prev)
		if last < c.lo || last > c.hi {
			t.Errorf("%v: observed order %.3f, want in [%v, %v]", c.solver, last, c.lo, c.hi)
		}
	}
	if eE, eH := errAt(Euler, 64), errAt(Heun, 64); !(eH < eE/10) {
		t.Errorf("Heun error %.3g is not far below Euler's %.3g at N = 64", eH, eE)
	}
}

// momentCheck samples n members and compares the sample mean and covariance with the
// prior's within 4.5 standard errors.
func momentCheck(t *testing.T, name string, s Sampler, mu []float64, cov *mat.SymDense, d Denoiser, n int) {
	t.Helper()
	dim := len(mu)
	x := mat.NewDense(n, dim, nil)
	if err := s.Sample(context.Background(), x, d, 11); err != nil {
		t.Fatal(err)
	}
	var m mat.VecDense
	m.ReuseAsVec(dim)
	for j := 0; j < dim; j++ {
		col := mat.Col(nil, j, x)
		mean, _ := meanVar(col)
		se := math.Sqrt(cov.At(j, j) / float64(n))
		if math.Abs(mean-mu[j]) > 4.5*se {
			t.Errorf("%s: mean[%d] = %.4f, want %.4f ± %.4f", name, j, mean, mu[j], se)
		}
		m.SetVec(j, mean)
	}
	for a := 0; a < dim; a++ {
		for b := a; b < dim; b++ {
			c := 0.0
			for i := 0; i < n; i++ {
				c += (x.At(i, a) - m.AtVec(a)) * (x.At(i, b) - m.AtVec(b))
			}
			c /= float64(n - 1)
			// Var of the sample covariance: (Σ_aa Σ_bb + Σ_ab²)/n.
			se := math.Sqrt((cov.At(a, a)*cov.At(b, b) + cov.At(a, b)*cov.At(a, b)) / float64(n))
			if math.Abs(c-cov.At(a, b)) > 4.5*se {
				t.Errorf("%s: cov[%d,%d] = %.4f, want %.4f ± %.4f", name, a, b, c, cov.At(a, b), se)
			}
		}
	}
}

// TestSamplersReproduceGaussianMoments samples a Gaussian prior with every sampler. The
// samplers start from N(0, σ_max²) rather than from the noised prior N(μ, v + σ_max²), so
// even the exact flow returns mean μ(1 − c) and variance c²σ_max², c = √(v/(v + σ_max²));
// that is the target (a shift of 0.3 standard errors here). N is chosen per solver so
// that the discretisation bias (measured in TestSamplerConvergenceOrders) is below 0.5
// standard errors: with the EDM default N = 18, Heun's variance is 4–5 % too large.
func TestSamplersReproduceGaussianMoments(t *testing.T) {
	mu, v := []float64{0.2, -0.3, 0.5}, []float64{0.3, 1, 4}
	g, _ := NewDiagGaussian(mu, v)
	const n = 20000
	for _, c := range []struct {
		name string
		s    Sampler
	}{
		{"EDM Euler N=2048", Sampler{Steps: 2048}},
		{"EDM Heun N=128", Sampler{Steps: 128, Solver: Heun}},
		{"VP Euler N=512", Sampler{Formulation: VP{}, Steps: 512}},
		{"VP Heun N=64", Sampler{Formulation: VP{}, Steps: 64, Solver: Heun}},
		{"VE Heun N=256", Sampler{Formulation: VE{}, Steps: 256, Solver: Heun}},
		{"EDM stochastic Heun N=128", Sampler{Steps: 128, Solver: Heun, SChurn: 40, SMin: 0.05, SMax: 50, SNoise: 1.003}},
	} {
		ts, _ := c.s.Times()
		f := c.s.Formulation
		if f == nil {
			f = EDM{}
		}
		smax := f.Sigma(ts[0])
		m := make([]float64, 3)
		cov := mat.NewSymDense(3, nil)
		for j := range v {
			cj := math.Sqrt(v[j] / (v[j] + smax*smax))
			m[j] = mu[j] * (1 - cj)
			cov.SetSym(j, j, cj*cj*smax*smax)
		}
		momentCheck(t, c.name, c.s, m, cov, g, n)
	}
}

// A wrong schedule fails the moment test: stopping the flow at σ = 0.5 instead of 0.002
// shrinks the variances by v/(v+σ²) … and the check notices.
func TestWrongScheduleIsDetected(t *testing.T) {
	mu, v := []float64{0, 0}, []float64{0.3, 1}
	g, _ := NewDiagGaussian(mu, v)
	x := mat.NewDense(20000, 2, nil)
	s := Sampler{Formulation: EDM{SigmaMin: 0.5}, Steps: 32, Solver: Heun}
	if err := s.Sample(context.Background(), x, g, 3); err != nil {
		t.Fatal(err)
	}
	_, v0 := meanVar(mat.Col(nil, 0, x))
	se := v[0] * math.Sqrt(2.0/20000)
	if math.Abs(v0-v[0]) < 4.5*se {
		t.Fatalf("variance %v indistinguishable from %v with σ_min = 0.5", v0, v[0])
	}
}

func TestSamplerWorkerIndependence(t *testing.T) {
	mu, v := make([]float64, 200), make([]float64, 200)
	for i := range v {
		mu[i], v[i] = float64(i%7)-3, 0.5+float64(i%5)
	}
	var ref *mat.Dense
	for _, w := range []int{1, 2, 4} {
		g, _ := NewDiagGaussian(mu, v)
		g.Workers = w
		x := mat.NewDense(100, 200, nil) // 20000 entries: parallel updates
		s := Sampler{Steps: 10, Solver: Heun, SChurn: 10, Workers: w}
		if err := s.Sample(context.Background(), x, g, 99); err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = x
		} else if !mat.Equal(ref, x) {
			t.Fatalf("workers = %d changes the samples", w)
		}
	}
}

func TestSamplerCancel(t *testing.T) {
	g, _ := NewIsotropicGaussian(4, 0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := Sampler{Steps: 5}
	if err := s.Sample(ctx, mat.NewDense(3, 4, nil), g, 1); err == nil {
		t.Fatal("no error after cancel")
	}
	if err := s.Sample(context.Background(), mat.NewDense(3, 5, nil), g, 1); err == nil {
		t.Fatal("dimension mismatch accepted")
	}
	if err := (&Sampler{SChurn: -1}).Sample(context.Background(), mat.NewDense(3, 4, nil), g, 1); err == nil {
		t.Fatal("negative churn accepted")
	}
}

func TestFormulationsConsistent(t *testing.T) {
	vp, err := VPFromSigmas(0.002, 80, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	if s := vp.Sigma(1e-3); math.Abs(s-0.002) > 1e-12 {
		t.Errorf("VPFromSigmas σ(ε_s) = %v", s)
	}
	if s := vp.Sigma(1); math.Abs(s-80) > 1e-9 {
		t.Errorf("VPFromSigmas σ(1) = %v", s)
	}
	for _, f := range []Formulation{EDM{}, VP{}, VE{}, vp} {
		for _, tt := range []float64{0.01, 0.3, 0.9} {
			if got := f.SigmaInv(f.Sigma(tt)); math.Abs(got-tt) > 1e-9*(1+tt) {
				t.Errorf("%T: σ⁻¹(σ(%v)) = %v", f, tt, got)
			}
			const h = 1e-6
			if num := (f.Sigma(tt+h) - f.Sigma(tt-h)) / (2 * h); math.Abs(num-f.SigmaDeriv(tt)) > 1e-5*(1+math.Abs(num)) {
				t.Errorf("%T: σ'(%v) = %v, numerical %v", f, tt, f.SigmaDeriv(tt), num)
			}
			if num := (f.Scale(tt+h) - f.Scale(tt-h)) / (2 * h); math.Abs(num-f.ScaleDeriv(tt)) > 1e-5*(1+math.Abs(num)) {
				t.Errorf("%T: s'(%v) = %v, numerical %v", f, tt, f.ScaleDeriv(tt), num)
			}
		}
	}
	// VP default: σ(1) ≈ 152, σ(ε_s = 1e-3) ≈ 0.0105.
	if s := (VP{}).Sigma(1); math.Abs(s-152.17) > 0.1 {
		t.Errorf("VP σ(1) = %v", s)
	}
	if s := (VP{}).Sigma(1e-3); math.Abs(s-0.010486) > 1e-6 {
		t.Errorf("VP σ(ε_s) = %v", s)
	}
}

// rangedDenoiser records the noise levels it is called at and reports a SigmaRange.
type rangedDenoiser struct {
	*DiagGaussian
	lo, hi float64
	seen   []float64
}

func (r *rangedDenoiser) SigmaRange() (float64, float64) { return r.lo, r.hi }
func (r *rangedDenoiser) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	r.seen = append(r.seen, sigma)
	return r.DiagGaussian.Denoise(ctx, dst, x, sigma)
}

func TestSamplerClampsToSigmaRange(t *testing.T) {
	g, _ := NewIsotropicGaussian(2, 0, 1)
	for _, c := range []struct {
		f      Formulation
		lo, hi float64
	}{{EDM{}, 0.01, 50}, {VE{}, 0.05, 60}, {VP{}, 0.02, 100}} { // VP alone spans 0.0105 … 152
		d := &rangedDenoiser{DiagGaussian: g, lo: c.lo, hi: c.hi}
		s := Sampler{Formulation: c.f, Steps: 10}
		if err := s.Sample(context.Background(), mat.NewDense(2, 2, nil), d, 1); err != nil {
			t.Fatal(err)
		}
		first, last := d.seen[0], d.seen[len(d.seen)-1]
		if math.Abs(first-c.hi) > 1e-9*c.hi || math.Abs(last-c.lo) > 1e-9 {
			t.Errorf("%T: σ from %v to %v, want %v to %v", c.f, first, last, c.hi, c.lo)
		}
	}
}
