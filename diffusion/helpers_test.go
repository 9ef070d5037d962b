package diffusion

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// tweedieGrid computes E[x0 | x0 + σε = x] = ∫ x0 p(x0) N(x; x0, σ²I) dx0 / ∫ p(x0) N(…) dx0
// by the midpoint rule on a regular grid over [lo, hi]^d (d = 1 or 2), from the prior's
// log density (up to a constant). It is an independent oracle for the exact denoisers.
func tweedieGrid(logp func([]float64) float64, x []float64, sigma, lo, hi float64, n int) []float64 {
	d := len(x)
	h := (hi - lo) / float64(n)
	pt := make([]float64, d)
	idx := make([]int, d)
	// visit calls f(log weight) at every grid point, with pt set.
	visit := func(f func(lw float64)) {
		for k := range idx {
			idx[k] = 0
		}
		for {
			r2 := 0.0
			for k := range pt {
				pt[k] = lo + (float64(idx[k])+0.5)*h
				r2 += (x[k] - pt[k]) * (x[k] - pt[k])
			}
			f(logp(pt) - r2/(2*sigma*sigma))
			k := 0
			for k < d {
				idx[k]++
				if idx[k] < n {
					break
				}
				idx[k] = 0
				k++
			}
			if k == d {
				return
			}
		}
	}
	m := math.Inf(-1)
	visit(func(lw float64) { m = math.Max(m, lw) })
	num := make([]float64, d)
	den := 0.0
	visit(func(lw float64) {
		w := math.Exp(lw - m)
		den += w
		for k := range num {
			num[k] += w * pt[k]
		}
	})
	for k := range num {
		num[k] /= den
	}
	return num
}

// denoiseOne applies a Denoiser to one vector.
func denoiseOne(t *testing.T, d Denoiser, x []float64, sigma float64) []float64 {
	t.Helper()
	in := mat.NewDense(1, len(x), append([]float64(nil), x...))
	out := mat.NewDense(1, len(x), nil)
	if err := d.Denoise(context.Background(), out, in, sigma); err != nil {
		t.Fatal(err)
	}
	return out.RawRowView(0)
}

func closeVec(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s: [%d] = %v, want %v (tol %g)", what, i, got[i], want[i], tol)
		}
	}
}

// checkLimits checks D → x as σ → 0 and D → mean as σ → ∞.
func checkLimits(t *testing.T, d Denoiser, x, mean []float64, tol float64) {
	t.Helper()
	closeVec(t, "σ→0", denoiseOne(t, d, x, 1e-7), x, tol)
	closeVec(t, "σ→∞", denoiseOne(t, d, x, 1e7), mean, tol)
}
