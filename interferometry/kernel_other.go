//go:build !amd64

package interferometry

var useAVX2 = false

func fma4x2(coef *[8]float64, tab []float64, stride int, accA, accC []float64, n int) {
	fma4x2Go(coef, tab, stride, accA, accC, n)
}
