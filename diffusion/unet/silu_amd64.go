//go:build amd64 && !purego

package unet

import "golang.org/x/sys/cpu"

//go:noescape
func siluAffineAVX2(dst, src *float32, n int, a, b float32)

var haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// siluAffine writes dst[i] = silu(src[i]·a + b); dst may alias src.
func siluAffine(dst, src []float32, a, b float32) {
	n := len(src)
	dst = dst[:n]
	v := 0
	if haveAVX2 && n >= 8 {
		v = n &^ 7
		siluAffineAVX2(&dst[0], &src[0], v, a, b)
	}
	for i := v; i < n; i++ {
		dst[i] = siluf(src[i]*a + b)
	}
}

func haveFMA() bool { return haveAVX2 }

//go:noescape
func dsiluMulAVX2(d, src *float32, n int, a, b float32)

// dsiluMul multiplies d[i] by SiLU'(src[i]·a + b).
func dsiluMul(d, src []float32, a, b float32) {
	n := len(src)
	d = d[:n]
	v := 0
	if haveAVX2 && n >= 8 {
		v = n &^ 7
		dsiluMulAVX2(&d[0], &src[0], v, a, b)
	}
	for i := v; i < n; i++ {
		d[i] *= dsilu(src[i]*a + b)
	}
}
