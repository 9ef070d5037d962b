package figures_test

import (
	"fmt"

	"github.com/enkg-go/enkg/figures"
)

func ExampleImage() {
	// A 2×3 signed field on a diverging map, symmetric about zero.
	img, err := figures.Image([]float64{-2, 0, 2, 1, -1, 0}, 2, 3, figures.Options{Colormap: figures.Diverging, Symmetric: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(img.Bounds().Dx(), img.Bounds().Dy(), img.RGBAAt(1, 0))
	// Output: 3 2 {247 247 247 255}
}
