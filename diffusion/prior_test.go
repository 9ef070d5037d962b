package diffusion

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// A Gaussian N(μ, v) in normalised units is N(aμ + b, a²v) in physical units: the
// wrapped denoiser equals the physical prior's.
func TestPhysicalDenoiser(t *testing.T) {
	mu, v := []float64{0.2, -1}, []float64{0.5, 2}
	a := Affine{Scale: -10, Shift: 3}
	norm, _ := NewDiagGaussian(mu, v)
	pm, pv := make([]float64, 2), make([]float64, 2)
	a.ToPhysical(pm, mu)
	for j := range v {
		pv[j] = 100 * v[j]
	}
	phys, _ := NewDiagGaussian(pm, pv)
	d := Physical(norm, a)
	for _, sigma := range []float64{0, 1, 7, 40} {
		x := []float64{12, -30}
		closeVec(t, "physical", denoiseOne(t, d, x, sigma), denoiseOne(t, phys, x, sigma), 1e-12)
	}
	y := []float64{5, 6}
	z := make([]float64, 2)
	a.ToNormalised(z, y)
	a.ToPhysical(z, z)
	closeVec(t, "affine round trip", z, y, 1e-15)
}

// Tweedie by Monte Carlo in 16 dimensions: E[x0 | x] = E_p[x0 w(x0)]/E_p[w(x0)] with
// w = N(x; x0, σ²I) and x0 drawn from the prior (self-normalised importance sampling).
func TestTweedieMonteCarlo(t *testing.T) {
	spec := randomSpectral(t, 4, 4)
	gmm, _ := NewGMMDiag([]float64{1, 2}, mat.NewDense(2, 16, nil), mat.NewDense(2, 16, nil))
	{
		means := mat.NewDense(2, 16, nil)
		vars := mat.NewDense(2, 16, nil)
		for j := 0; j < 16; j++ {
			means.Set(0, j, 0.5)
			means.Set(1, j, -0.5)
			vars.Set(0, j, 0.3+0.05*float64(j))
			vars.Set(1, j, 0.6)
		}
		gmm, _ = NewGMMDiag([]float64{1, 2}, means, vars)
	}
	const n = 200000
	for name, p := range map[string]Prior{"spectral": spec, "gmm": gmm} {
		x0 := mat.NewDense(n, 16, nil)
		if err := p.Sample(context.Background(), x0, 77); err != nil {
			t.Fatal(err)
		}
		x := make([]float64, 16)
		for j := range x {
			x[j] = 0.3 * float64(j%4-1)
		}
		const sigma = 2.0
		lw := make([]float64, n)
		for i := 0; i < n; i++ {
			r := x0.RawRowView(i)
			s := 0.0
			for j := range x {
				s += (x[j] - r[j]) * (x[j] - r[j])
			}
			lw[i] = -s / (2 * sigma * sigma)
		}
		logSumExp(lw)
		est, ess := make([]float64, 16), 0.0
		for i, w := range lw {
			ess += w * w
			for j := range est {
				est[j] += w * x0.At(i, j)
			}
		}
		ess = 1 / ess
		got := denoiseOne(t, p, x, sigma)
		// Delta-method standard error of a self-normalised estimate: √(Σ w_i²(x0_ij − est_j)²).
		worst := 0.0
		for j := range est {
			v := 0.0
			for i, w := range lw {
				e := x0.At(i, j) - est[j]
				v += w * w * e * e
			}
			se := math.Sqrt(v)
			worst = math.Max(worst, math.Abs(got[j]-est[j])/se)
			if math.Abs(got[j]-est[j]) > 4.5*se {
				t.Errorf("%s: D[%d] = %v, Monte Carlo %v ± %v (ESS %.0f)", name, j, got[j], est[j], se, ess)
			}
		}
		t.Logf("%s: ESS %.0f, worst deviation %.2f standard errors", name, ess, worst)
	}
}
