package interferometry_test

import (
	"context"
	"fmt"
	"math"
	"math/cmplx"

	"github.com/enkg-go/enkg/interferometry"
	"github.com/enkg-go/enkg/rng"
)

func Example() {
	// Observe a 0.6 Jy crescent (M87-like, 64×64 pixels over 160 μas) with the EHT 2017
	// array at 230 GHz on 2017-04-11, and form the minimal closure sets.
	obs, err := interferometry.Observe(interferometry.EHT2017(), interferometry.DefaultSettings())
	if err != nil {
		panic(err)
	}
	grid, _ := interferometry.NewGrid(64, 160)
	img := make([]float64, grid.Len())
	if err := (interferometry.Crescent{Flux: 0.6, Rp: 25, Rn: 17, A: 2, B: 5}).Render(img, grid); err != nil {
		panic(err)
	}
	dft, err := interferometry.NewDFT(grid, obs.U, obs.V, interferometry.Auto)
	if err != nil {
		panic(err)
	}
	vis := make([]complex128, obs.Len())
	dft.Forward(vis, img, nil)

	tri := obs.Triangles(interferometry.Min)
	quad := obs.Quadrangles(interferometry.Min)
	cp, sigcp := make([]float64, tri.Len()), make([]float64, tri.Len())
	tri.ClosurePhases(cp, sigcp, vis, obs.Sigma)

	fmt.Printf("%d visibilities, %d closure phases, %d log closure amplitudes\n", obs.Len(), tri.Len(), quad.Len())
	fmt.Printf("first row %s–%s at %.4f h, |V| = %.3f Jy, σ = %.4f Jy\n",
		obs.Stations[obs.T1[0]], obs.Stations[obs.T2[0]], obs.Time[0], cmplx.Abs(vis[0]), obs.Sigma[0])
	fmt.Printf("cphase χ² of the true image: %.1f\n", interferometry.ChiSqCPhase(vis, tri, cp, sigcp))
	// Output:
	// 837 visibilities, 508 closure phases, 427 log closure amplitudes
	// first row ALMA–APEX at 0.0000 h, |V| = 0.600 Jy, σ = 0.0007 Jy
	// cphase χ² of the true image: 0.0
}

func ExampleBlackHole() {
	// The black-hole operator of the EnKG paper on the EHT 2017 M87 observation: a normalised
	// image x ∈ [−1, 1]^(64·64) ↦ [amplitudes | closure phases | log closure amplitudes | flux].
	obs, _ := interferometry.Observe(interferometry.EHT2017(), interferometry.DefaultSettings())
	grid, _ := interferometry.NewGrid(64, 160)
	img := make([]float64, grid.Len())
	_ = (interferometry.Ring{Flux: 1, R: 20, W: 3, Asym: 0.5}).Render(img, grid)
	peak := 0.0
	for _, v := range img {
		peak = max(peak, v)
	}
	op, err := interferometry.NewBlackHole(obs, grid, interferometry.BlackHoleSettings{Multiplier: peak})
	if err != nil {
		panic(err)
	}
	x := make([]float64, len(img))
	for i, v := range img {
		x[i] = 2*v/peak - 1 // image units [0, 1] ↦ [−1, 1]
	}
	meas, _ := op.Measure(x, rng.New(1)) // thermal noise on the visibilities
	misfit, _ := interferometry.NewBlackHoleMisfit(op.Layout(), meas, interferometry.PublishedWeights)
	y := make([]float64, op.OutputDim())
	_ = op.Forward(context.Background(), y, x)
	for _, s := range op.Layout().Segments() {
		fmt.Printf("%-8s %4d\n", s.Name, s.Len)
	}
	fmt.Println("loss of the truth ≈ 2·(508 + 427):", math.Abs(misfit.Loss(y, meas.Y)-2*935) < 300)
	// Output:
	// amp       837
	// cphase    508
	// logcamp   427
	// flux        1
	// loss of the truth ≈ 2·(508 + 427): true
}
