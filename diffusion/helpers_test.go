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
	num := make([]float64, d)
	var lw []float64
	var pts [][]float64
	idx := make([]int, d)
	for {
		for k := range pt {
			pt[k] = lo + (float64(idx[k])+0.5)*h
		}
		r2 := 0.0
		for k := range pt {
			r2 += (x[k] - pt[k]) * (x[k] - pt[k])
		}
		lw = append(lw, logp(pt)-r2/(2*sigma*sigma))
		pts = append(pts, append([]float64(nil), pt...))
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
			break
		}
	}
	m := math.Inf(-1)
	for _, v := range lw {
		m = math.Max(m, v)
	}
	den := 0.0
	for i, v := range lw {
		w := math.Exp(v - m)
		den += w
		for k := range num {
			num[k] += w * pts[i][k]
		}
	}
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
