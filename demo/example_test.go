package demo_test

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/demo"
	"github.com/enkg-go/enkg/pde"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

// The pipeline on a 16² grid: training fields, prior, truth, observation, EnKG vs EKI.
func Example() {
	ctx := context.Background()
	s := demo.DefaultSettings()
	s.Res, s.Spinup, s.T, s.Train, s.Members, s.Steps, s.TruthSeed = 16, 1, 0.5, 12, 16, 6, 99

	// Training fields as `enkg data ns --n 12 --res 16 --spinup 1 --seed 0` makes them.
	g, _ := spectral.NewGRF(16, 16, spectral.GRFSettings{Alpha: 2.5, Tau: 7})
	ps := s.SolverSettings()
	ens, _ := pde.NewEnsemble(16, 16, &ps, 0)
	w := make([]float64, s.Train*256)
	for i := range s.Train {
		g.Sample(w[i*256:(i+1)*256], rng.Stream(0, i))
	}
	if err := ens.Solve(ctx, w, w, s.Spinup); err != nil {
		fmt.Println(err)
		return
	}
	prior, _ := demo.FitPrior(mat.NewDense(s.Train, 256, w), s)
	truth, _ := demo.Truth(ctx, s)
	y, _ := demo.Observe(ctx, truth, s)
	rep, err := demo.Run(ctx, s, prior, truth, y, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rep.Rows {
		fmt.Printf("%-10s forward evaluations %3d, better than the prior mean: %v\n", r.Method, r.Forward, r.RelL2 < rep.Rows[2].RelL2)
	}
	// Output:
	// EnKG       forward evaluations 160, better than the prior mean: true
	// EKI        forward evaluations 160, better than the prior mean: true
	// prior mean forward evaluations   0, better than the prior mean: false
}
