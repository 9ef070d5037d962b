// Package tile holds the cache-blocked matrix transpose shared by the FFT (complex128) and the
// U-Net's weight gradient (float32): dst = srcᵀ, dst[j·r + i] = src[i·c + j] for the r×c
// row-major src, walked in 16×16 tiles so that the rows of both stay in cache.
package tile

// Transpose writes the transpose of the r×c row-major matrix src into dst (c×r).
func Transpose[T any](dst, src []T, r, c int) {
	if r == 0 || c == 0 {
		return
	}
	const b = 16
	_ = src[r*c-1]
	_ = dst[r*c-1]
	for i0 := 0; i0 < r; i0 += b {
		i1 := min(i0+b, r)
		for j0 := 0; j0 < c; j0 += b {
			j1 := min(j0+b, c)
			for i := i0; i < i1; i++ {
				row := src[i*c+j0 : i*c+j1]
				for j, v := range row {
					dst[(j0+j)*r+i] = v
				}
			}
		}
	}
}
