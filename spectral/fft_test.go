package spectral

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func naiveDFT(x []complex128, sign float64) []complex128 {
	n := len(x)
	out := make([]complex128, n)
	for k := range out {
		var s complex128
		for j, v := range x {
			s += v * cmplx.Exp(complex(0, sign*2*math.Pi*float64(j*k%n)/float64(n)))
		}
		out[k] = s
	}
	return out
}

func TestCFFTNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range append(seq(1, 70), 97, 101, 74, 128, 3*37, 1009) {
		f := newCFFT(n)
		for _, v := range []int{1, 3} {
			x := randCmplx(r, n*v)
			for _, inv := range []bool{false, true} {
				sign := -1.0
				if inv {
					sign = 1
				}
				dst := make([]complex128, n*v)
				work := make([]complex128, n*v)
				tmp := make([]complex128, f.maxR)
				f.transform(dst, x, work, tmp, v, inv)
				for c := 0; c < v; c++ {
					col := make([]complex128, n)
					for i := range col {
						col[i] = x[i*v+c]
					}
					want := naiveDFT(col, sign)
					for i := range want {
						if d := cmplx.Abs(dst[i*v+c] - want[i]); d > 1e-13*float64(n) {
							t.Fatalf("n=%d v=%d inv=%v: element %d diff %g", n, v, inv, i, d)
						}
					}
				}
				// In place (src == dst) and src == work give the same result.
				y := append([]complex128(nil), x...)
				f.transform(y, y, work, tmp, v, inv)
				if d := maxAbsDiffC(y, dst); d != 0 {
					t.Fatalf("n=%d v=%d: in-place differs by %g", n, v, d)
				}
				copy(work, x)
				f.transform(y, work, work, tmp, v, inv)
				if d := maxAbsDiffC(y, dst); d != 0 {
					t.Fatalf("n=%d v=%d: src==work differs by %g", n, v, d)
				}
			}
		}
	}
}

func TestTranspose(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, sz := range [][2]int{{1, 1}, {2, 2}, {2, 6}, {6, 2}, {3, 5}, {16, 34}, {128, 64}, {65, 128}, {64, 65}, {10, 18}} {
		a := randCmplx(r, sz[0]*sz[1])
		b := make([]complex128, len(a))
		transpose(b, a, sz[0], sz[1])
		for i := 0; i < sz[0]; i++ {
			for j := 0; j < sz[1]; j++ {
				if b[j*sz[0]+i] != a[i*sz[1]+j] {
					t.Fatalf("%v: transpose wrong at (%d,%d)", sz, i, j)
				}
			}
		}
	}
}

func seq(a, b int) []int {
	var s []int
	for i := a; i <= b; i++ {
		s = append(s, i)
	}
	return s
}

func TestExpm(t *testing.T) {
	for b := 1; b <= 64; b++ {
		for a := -b; a < 2*b; a++ {
			ar := ((a % b) + b) % b // reduce first: the reference's own error grows with the angle
			if 2*ar > b {
				ar -= b
			}
			want := cmplx.Exp(complex(0, -2*math.Pi*float64(ar)/float64(b)))
			if d := cmplx.Abs(expm(a, b) - want); d > 1e-15 {
				t.Fatalf("expm(%d, %d) = %v, want %v", a, b, expm(a, b), want)
			}
		}
	}
	for _, c := range []struct {
		a, b int
		w    complex128
	}{{0, 4, 1}, {1, 4, -1i}, {2, 4, -1}, {3, 4, 1i}, {8, 32, -1i}, {5, 10, -1}} {
		if got := expm(c.a, c.b); got != c.w {
			t.Errorf("expm(%d, %d) = %v, want exactly %v", c.a, c.b, got, c.w)
		}
	}
}
