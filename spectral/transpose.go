package spectral

// transpose writes the r×c row-major matrix src into dst as its c×r transpose, in
// cache-sized tiles.
func transpose(dst, src []complex128, r, c int) {
	if transposeVec(dst, src, r, c) {
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
