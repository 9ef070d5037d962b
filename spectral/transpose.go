package spectral

import "github.com/enkg-go/enkg/internal/tile"

// transpose writes the r×c row-major matrix src into dst as its c×r transpose, in
// cache-sized tiles.
func transpose(dst, src []complex128, r, c int) {
	if transposeVec(dst, src, r, c) {
		return
	}
	tile.Transpose(dst, src, r, c)
}
