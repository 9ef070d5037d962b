//go:build !amd64 || purego

package unet

// siluAffine writes dst[i] = silu(src[i]·a + b); dst may alias src.
func siluAffine(dst, src []float32, a, b float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = siluf(v*a + b)
	}
}

func haveFMA() bool { return false }

// dsiluMul multiplies d[i] by SiLU'(src[i]·a + b).
func dsiluMul(d, src []float32, a, b float32) {
	d = d[:len(src)]
	for i, v := range src {
		d[i] *= dsilu(v*a + b)
	}
}
