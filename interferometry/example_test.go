package interferometry_test

import (
	"fmt"
	"math/cmplx"

	"github.com/enkg-go/enkg/interferometry"
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
