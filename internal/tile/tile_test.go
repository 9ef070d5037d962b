package tile

import (
	"fmt"
	"testing"
)

// TestTranspose checks shapes that are and are not multiples of the tile, for two element
// types.
func TestTranspose(t *testing.T) {
	for _, sh := range [][2]int{{0, 3}, {1, 1}, {3, 40}, {32, 4096}, {17, 33}} {
		r, c := sh[0], sh[1]
		src := make([]float32, r*c)
		zs := make([]complex128, r*c)
		for i := range src {
			src[i] = float32(i)
			zs[i] = complex(float64(i), -float64(i))
		}
		dst := make([]float32, r*c)
		zd := make([]complex128, r*c)
		Transpose(dst, src, r, c)
		Transpose(zd, zs, r, c)
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				if dst[j*r+i] != src[i*c+j] || zd[j*r+i] != zs[i*c+j] {
					t.Fatalf("%d×%d: element (%d, %d) of the transpose is wrong", r, c, j, i)
				}
			}
		}
	}
}

func ExampleTranspose() {
	src := []int{1, 2, 3, 4, 5, 6} // 2×3
	dst := make([]int, 6)
	Transpose(dst, src, 2, 3)
	fmt.Println(dst)
	// Output: [1 4 2 5 3 6]
}
