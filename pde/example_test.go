package pde_test

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/pde"
)

// Decay of a Taylor–Green vortex w0 = 2cos(x)cos(y) without forcing: the nonlinear term
// vanishes and w(T) = w0·exp(−2T/Re).
func Example() {
	const n, re, T = 32, 100.0, 1.0
	w0 := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			x, y := 2*math.Pi*float64(i)/n, 2*math.Pi*float64(j)/n
			w0[i*n+j] = 2 * math.Cos(x) * math.Cos(y)
		}
	}
	s, err := pde.NewSolver(n, n, &pde.Settings{Re: re, NoForcing: true, Dt: 1e-3})
	if err != nil {
		panic(err)
	}
	w := make([]float64, n*n)
	if err := s.Solve(context.Background(), w, w0, T); err != nil {
		panic(err)
	}
	fmt.Printf("steps %d, w(0,0) = %.10f, exact %.10f\n", s.Stats().Steps, w[0], 2*math.Exp(-2*T/re))
	// Output: steps 1000, w(0,0) = 1.9603973466, exact 1.9603973466
}

// The Navier–Stokes forward operator of the EnKG paper on a 32² grid: normalised field →
// vorticity (×10) → solve to T = 1 at Re = 200 → every second point.
func ExampleOperator() {
	op, err := pde.NewOperator(pde.OperatorSettings{Nx: 32, Ny: 32})
	if err != nil {
		panic(err)
	}
	x := make([]float64, op.InputDim())
	for i := range x {
		x[i] = 0.1 * math.Sin(2*math.Pi*float64(i/32)/32)
	}
	y := make([]float64, op.OutputDim())
	if err := op.Forward(context.Background(), y, x); err != nil {
		panic(err)
	}
	r, c := op.OutputShape()
	fmt.Printf("%d → %d×%d, %d adaptive steps\n", op.InputDim(), r, c, op.Solver().Stats().Steps)
	// Output: 1024 → 16×16, 70 adaptive steps
}
