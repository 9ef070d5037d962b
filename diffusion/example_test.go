package diffusion_test

import (
	"context"
	"fmt"

	"github.com/enkg-go/enkg/diffusion"
	"gonum.org/v1/gonum/mat"
)

// A Gaussian prior N(1, 0.25) as a diffusion prior: the EDM schedule, the exact
// denoiser, EnKG's x̂0 estimate by a few ODE steps, and a Heun sampler whose samples
// have the prior's moments.
func Example() {
	ctx := context.Background()
	sig, _ := diffusion.KarrasSigmas(5, 0.002, 80, 7)
	fmt.Printf("σ: %.4g\n", sig)

	prior, _ := diffusion.NewDiagGaussian([]float64{1}, []float64{0.25})
	x := mat.NewDense(1, 1, []float64{3})
	d := mat.NewDense(1, 1, nil)
	_ = prior.Denoise(ctx, d, x, 0.5) // 1 + 0.25/(0.25+0.25)·(3−1)
	fmt.Printf("D(3; 0.5) = %.3f\n", d.At(0, 0))

	// The exact flow gives 1 + 2·√(0.25/0.5) = 2.414; Euler converges to it at first
	// order in k, and k = 1 is one denoiser call.
	for _, k := range []int{1, 4, 32} {
		_ = diffusion.DenoiseODE(ctx, d, x, prior, 0.5, k, 0.002, 7)
		fmt.Printf("x̂0 with k = %2d: %.3f\n", k, d.At(0, 0))
	}

	samples := mat.NewDense(4000, 1, nil)
	s := diffusion.Sampler{Steps: 64, Solver: diffusion.Heun}
	_ = s.Sample(ctx, samples, prior, 1)
	var mean, sq float64
	for i := 0; i < 4000; i++ {
		v := samples.At(i, 0)
		mean += v / 4000
		sq += v * v / 4000
	}
	fmt.Printf("sample mean %.2f, variance %.2f\n", mean, sq-mean*mean)
	// Output:
	// σ: [80 17.53 2.515 0.1698 0.002 0]
	// D(3; 0.5) = 2.000
	// x̂0 with k =  1: 2.000
	// x̂0 with k =  4: 2.185
	// x̂0 with k = 32: 2.390
	// sample mean 1.00, variance 0.25
}
