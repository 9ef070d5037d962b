package guidance_test

import (
	"fmt"
	"math"

	"github.com/enkg-go/enkg/guidance"
	"gonum.org/v1/gonum/mat"
)

// ExampleKalman_Localize: one datum of a 16×16 periodic grid observed on every 2nd point pulls
// on the whole field through the ensemble's sample correlations; localized, it moves only the
// pixels within the taper's support 2c.
func ExampleKalman_Localize() {
	const n, j = 16, 4
	g := guidance.PeriodicGrid{N: n, Stride: 2, Length: n} // unit grid spacing
	d, m := n*n, (n/2)*(n/2)
	x, y := mat.NewDense(j, d, nil), mat.NewDense(j, m, nil)
	for i := 0; i < j; i++ { // a deterministic, spread-out ensemble
		for p := 0; p < d; p++ {
			x.Set(i, p, math.Sin(float64((i+1)*(p+3))))
		}
		for q := 0; q < m; q++ {
			y.Set(i, q, math.Cos(float64((i+2)*(q+1))))
		}
	}
	e := mat.NewDense(j, m, nil) // only datum 0 (grid point (0, 0)) is misfit
	for i := 0; i < j; i++ {
		e.Set(i, 0, 1)
	}
	for _, c := range []float64{0, 1.5} {
		k, _ := guidance.NewKalman(j, d, m)
		if err := k.Localize(g, c); err != nil {
			fmt.Println(err)
			return
		}
		x1 := mat.DenseCopyOf(x)
		k.Update(x1, y, e, 1)
		moved := 0
		for p := 0; p < d; p++ {
			if x1.At(0, p) != x.At(0, p) {
				moved++
			}
		}
		fmt.Printf("radius %g: member 0 changes in %d of %d pixels\n", c, moved, d)
	}
	// Output:
	// radius 0: member 0 changes in 256 of 256 pixels
	// radius 1.5: member 0 changes in 25 of 256 pixels
}
