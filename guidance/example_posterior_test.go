package guidance_test

import (
	"context"
	"fmt"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

func ExamplePosterior() {
	// x ∈ R⁸ with the prior N(0, I); the first four entries are observed with noise σ = 0.1.
	// The exact posterior: mean y/(1 + σ²) and std σ/√(1 + σ²) ≈ 0.1 on the observed
	// entries, mean 0 and std 1 on the others.
	a := mat.NewDense(4, 8, nil)
	for i := 0; i < 4; i++ {
		a.Set(i, i, 1)
	}
	op, _ := operator.NewMatrix(a)
	prior, _ := diffusion.NewIsotropicGaussian(8, 0, 1)
	p := &guidance.Problem{
		Observation: []float64{1, -1, 0.5, 0},
		Forward:     func() (operator.Operator, error) { return op, nil },
		Misfit:      operator.Gaussian{Sigma: 0.1},
		Prior:       prior,
	}
	s := guidance.DefaultPosteriorSettings()
	s.Members, s.Seed = 256, 1
	m, err := guidance.NewPosterior(s)
	if err != nil {
		panic(err)
	}
	eng, err := guidance.NewLocal(p.Forward, 2)
	if err != nil {
		panic(err)
	}
	res, err := m.RunPosterior(context.Background(), p, eng, nil)
	if err != nil {
		panic(err)
	}
	// The unobserved entries' means are 0 and their std 1 within the sampling noise of 256
	// members (±0.06 and ±0.05).
	lo, hi, _ := guidance.CredibleInterval(res.Ensemble, 0.9)
	fmt.Printf("mean %.1f\n", res.Mean)
	fmt.Printf("std  %.1f\n", res.Std)
	fmt.Printf("90%% interval of x₁: [%.1f, %.1f]\n", lo[0], hi[0])
	fmt.Println("stages:", len(res.Stages), "moves:", res.Moves, "forward evaluations:", res.Counts.Forward)
	// Output:
	// mean [1.0 -1.0 0.5 0.0 -0.1 0.1 -0.1 -0.0]
	// std  [0.1 0.1 0.1 0.1 0.9 1.0 0.9 1.0]
	// 90% interval of x₁: [0.8, 1.1]
	// stages: 7 moves: 50 forward evaluations: 13056
}
