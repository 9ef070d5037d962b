package unet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestResample2Agrees checks the 2×2-filter fast paths of the FIR resampling and their
// adjoints against the general loops: the same float32 operations in the same order, so the
// results are bit-identical (upsample: equal values; the general loop's 0 + v turns a −0
// into +0).
func TestResample2Agrees(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rnd.NormFloat64())
		}
		return v
	}
	for _, sz := range [][3]int{{1, 2, 2}, {3, 4, 6}, {2, 5, 7}, {4, 8, 8}, {2, 16, 3}} {
		ch, h, w := sz[0], sz[1], sz[2]
		t.Run(fmt.Sprintf("%dx%dx%d", ch, h, w), func(t *testing.T) {
			f := fill(4) // not the symmetric [1,1] filter, so that a swapped tap shows
			same := func(name string, got, want []float32, bits bool) {
				t.Helper()
				for i := range want {
					if bits && math.Float32bits(got[i]) != math.Float32bits(want[i]) || got[i] != want[i] {
						t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want[i])
					}
				}
			}
			x := fill(ch * h * w)
			up, upW := fill(4*ch*h*w), fill(4*ch*h*w)
			upsample(up, x, ch, h, w, f, 2)
			upsampleAny(upW, x, ch, h, w, f, 2)
			same("upsample", up, upW, false)

			dy := fill(4 * ch * h * w)
			base := fill(ch * h * w)
			dx, dxW := append([]float32(nil), base...), append([]float32(nil), base...)
			upsampleT(dx, dy, ch, h, w, f, 2)
			upsampleAnyT(dxW, dy, ch, h, w, f, 2)
			same("upsampleT", dx, dxW, true)

			ho, wo := (h-2)/2+1, (w-2)/2+1
			down, downW := fill(ch*ho*wo), fill(ch*ho*wo)
			downsample(down, x, ch, h, w, f, 2, 0)
			downsampleAny(downW, x, ch, h, w, f, 2, 0)
			same("downsample", down, downW, true)

			g := fill(ch * ho * wo)
			dx, dxW = append([]float32(nil), base...), append([]float32(nil), base...)
			downsampleT(dx, g, ch, h, w, f, 2, 0)
			downsampleAnyT(dxW, g, ch, h, w, f, 2, 0)
			same("downsampleT", dx, dxW, true)
		})
	}
}
