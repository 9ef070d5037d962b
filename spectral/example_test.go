package spectral_test

import (
	"fmt"
	"math"

	"github.com/enkg-go/enkg/spectral"
)

// Differentiate f(x, y) = sin(x)·cos(2y) spectrally on a 16×16 grid of [0, 2π)².
func Example() {
	const n = 16
	plan, err := spectral.NewPlan(n, n)
	if err != nil {
		panic(err)
	}
	grid, err := spectral.NewGrid(n, n, 2*math.Pi, 2*math.Pi)
	if err != nil {
		panic(err)
	}
	f := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			x, y := 2*math.Pi*float64(i)/n, 2*math.Pi*float64(j)/n
			f[i*n+j] = math.Sin(x) * math.Cos(2*y)
		}
	}
	F := make([]complex128, n*plan.NyHalf())
	plan.Forward(F, f)
	grid.DerivY(F, F) // ∂f/∂y = −2 sin(x) sin(2y)
	dfdy := make([]float64, n*n)
	plan.Inverse(dfdy, F)

	i, j := 4, 2 // x = π/2, y = π/4
	fmt.Printf("df/dy(π/2, π/4) = %.12f (exact −2)\n", dfdy[i*n+j])

	grf, err := spectral.NewGRF(n, n, spectral.DefaultGRFSettings())
	if err != nil {
		panic(err)
	}
	s := grf.Settings()
	fmt.Printf("GRF defaults: alpha=%g tau=%g sigma=%.4f L=%.4f\n", s.Alpha, s.Tau, s.Sigma, s.L1)
	// Output:
	// df/dy(π/2, π/4) = -2.000000000000 (exact −2)
	// GRF defaults: alpha=2.5 tau=7 sigma=18.5203 L=6.2832
}
