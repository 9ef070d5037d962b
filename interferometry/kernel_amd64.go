package interferometry

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2/FMA kernel of the separable DFT (amd64 with AVX2 and FMA).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func fma4x2AVX2(coef *[8]float64, tab *float64, stride uintptr, accA, accC *float64, n int)

func fma4x2(coef *[8]float64, tab []float64, stride int, accA, accC []float64, n int) {
	if useAVX2 {
		_ = tab[3*stride+n-1]
		_ = accA[n-1]
		_ = accC[n-1]
		fma4x2AVX2(coef, &tab[0], uintptr(stride)*8, &accA[0], &accC[0], n)
		return
	}
	fma4x2Go(coef, tab, stride, accA, accC, n)
}
