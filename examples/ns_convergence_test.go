package examples_test

import (
	"context"
	"math"
	"testing"

	"github.com/enkg-go/enkg/enkgtest"
	"github.com/enkg-go/enkg/figures"
	"github.com/enkg-go/enkg/pde"
)

// nsInitial is a smooth, band-limited initial vorticity (wavenumbers ≤ 4) sampled on an n×n
// grid of the 2π-periodic square, so that every grid of the study represents it exactly.
func nsInitial(n int) []float64 {
	w := make([]float64, n*n)
	for i := range n {
		for j := range n {
			x, y := 2*math.Pi*float64(i)/float64(n), 2*math.Pi*float64(j)/float64(n)
			w[i*n+j] = 3*math.Sin(x)*math.Cos(2*y) + 2*math.Cos(3*x+y) - 1.5*math.Sin(2*x-3*y) + math.Cos(4*x)*math.Sin(y)
		}
	}
	return w
}

// nsSolve integrates the default problem (Re = 200, Kolmogorov forcing) on an n×n grid with
// the fixed time step dt up to time T.
func nsSolve(t *testing.T, n int, dt, T float64) []float64 {
	t.Helper()
	s := pde.DefaultSettings()
	s.Dt = dt
	sol, err := pde.NewSolver(n, n, &s)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, n*n)
	if err := sol.Solve(context.Background(), w, nsInitial(n), T); err != nil {
		t.Fatal(err)
	}
	return w
}

// subsample keeps the points of an n×n field that lie on the m×m grid (m divides n).
func subsample(f []float64, n, m int) []float64 {
	r := n / m
	out := make([]float64, m*m)
	for i := range m {
		for j := range m {
			out[i*m+j] = f[i*r*n+j*r]
		}
	}
	return out
}

func relL2(a, b []float64) float64 {
	var num, den float64
	for i := range a {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += b[i] * b[i]
	}
	return math.Sqrt(num / den)
}

// TestNavierStokesConvergence measures the convergence of the vorticity solver (pde.Solver)
// to time T = 1 from a smooth initial field:
//
//   - in time, at a fixed grid, against a solution with a 16× smaller step: Heun's
//     predictor–corrector with Crank–Nicolson viscosity is second order, so halving dt must
//     divide the error by 4. Measured on 64² (full) with dt = 1/32 … 1/256: errors 1.10e-3,
//     2.73e-4, 6.80e-5, 1.69e-5, orders 2.015, 2.004, 2.006. Asserted: every order in
//     [1.9, 2.1]. (dt = 1/16 is beyond the stability limit: error 1.2.)
//   - in space, at a fixed small step, against a 2× (short) or 2×-above-finest (full) grid
//     on the common grid points: the pseudo-spectral method converges faster than any power
//     of h. Measured (full, reference 256²): n = 16, 32, 64, 128 → errors 3.7e-1, 5.8e-2,
//     6.2e-3, 4.3e-5, local orders 2.68, 3.24, 7.19. Asserted: each order ≥ 2.3 and the
//     orders increase (super-algebraic convergence), and the finest error < 1e-2.
//
// Short form ≈ 1 s, full form ≈ 10 s (2 cores, shared machine).
func TestNavierStokesConvergence(t *testing.T) {
	const T = 1.0
	type study struct {
		n       int   // grid of the time study
		steps   []int // 1/dt
		refStep int
		grids   []int // grids of the space study
		refGrid int
		dt      float64 // step of the space study
	}
	s := study{n: 32, steps: []int{32, 64, 128}, refStep: 2048, grids: []int{16, 32, 64}, refGrid: 128, dt: 1.0 / 256}
	if enkgtest.Full() {
		s = study{n: 64, steps: []int{32, 64, 128, 256}, refStep: 4096, grids: []int{16, 32, 64, 128}, refGrid: 256, dt: 1.0 / 512}
	}

	t.Run("time", func(t *testing.T) {
		ref := nsSolve(t, s.n, T/float64(s.refStep), T)
		dts, errs := make([]float64, len(s.steps)), make([]float64, len(s.steps))
		for k, m := range s.steps {
			dts[k] = T / float64(m)
			errs[k] = relL2(nsSolve(t, s.n, dts[k], T), ref)
		}
		for k := 1; k < len(errs); k++ {
			p := math.Log2(errs[k-1] / errs[k])
			t.Logf("dt = %.5f  error %.3e  order %.3f", dts[k], errs[k], p)
			if p < 1.9 || p > 2.1 {
				t.Errorf("time order between dt = %g and %g is %.3f, want 2 ± 0.1", dts[k-1], dts[k], p)
			}
		}
		enkgtest.SaveNPZ(t, "time.npz", enkgtest.Entry{Name: "dt", Shape: []int{len(dts)}, Data: dts},
			enkgtest.Entry{Name: "error", Shape: []int{len(errs)}, Data: errs})
		enkgtest.SaveLines(t, "time.png", figures.Lines{Title: "Navier–Stokes: error against the time step",
			XLabel: "dt", YLabel: "relative L2 error", LogX: true, LogY: true,
			Series: []figures.Series{{Name: "measured", X: dts, Y: errs}, {Name: "dt²", X: dts, Y: scaled(dts, 2, errs[0])}}})
	})

	t.Run("space", func(t *testing.T) {
		ref := nsSolve(t, s.refGrid, s.dt, T)
		enkgtest.SaveNPY(t, "reference.npy", []int{s.refGrid, s.refGrid}, ref)
		enkgtest.SavePNG(t, "reference.png", ref, s.refGrid, s.refGrid,
			figures.Options{Title: "vorticity at T = 1", Colormap: figures.Diverging, Symmetric: true})
		hs, errs := make([]float64, len(s.grids)), make([]float64, len(s.grids))
		for k, n := range s.grids {
			hs[k] = 2 * math.Pi / float64(n)
			errs[k] = relL2(nsSolve(t, n, s.dt, T), subsample(ref, s.refGrid, n))
		}
		prev := 0.0
		for k := 1; k < len(errs); k++ {
			p := math.Log2(errs[k-1] / errs[k])
			t.Logf("n = %d  error %.3e  local order %.2f", s.grids[k], errs[k], p)
			if p < 2.3 {
				t.Errorf("n = %d: local order %.2f, want ≥ 2.3", s.grids[k], p)
			}
			if p <= prev {
				t.Errorf("n = %d: local order %.2f does not exceed the previous %.2f (spectral convergence)", s.grids[k], p, prev)
			}
			prev = p
		}
		if e := errs[len(errs)-1]; e > 1e-2 {
			t.Errorf("finest grid error %.3e, want < 1e-2", e)
		}
		enkgtest.SaveNPZ(t, "space.npz", enkgtest.Entry{Name: "h", Shape: []int{len(hs)}, Data: hs},
			enkgtest.Entry{Name: "error", Shape: []int{len(errs)}, Data: errs})
		enkgtest.SaveLines(t, "space.png", figures.Lines{Title: "Navier–Stokes: error against the grid spacing",
			XLabel: "h", YLabel: "relative L2 error", LogX: true, LogY: true,
			Series: []figures.Series{{Name: "measured", X: hs, Y: errs}}})
	})
}

// scaled returns c·(x/x[0])^p: a reference slope through (x[0], c).
func scaled(x []float64, p, c float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = c * math.Pow(v/x[0], p)
	}
	return out
}
