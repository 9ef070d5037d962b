package guidance

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestCredibleIntervals: a column holding a permutation of 0 … J−1 has the quantile p·(J−1)
// (numpy's linear interpolation), for several levels at once, with a number of columns that
// is not a multiple of the block, and the same result on one core as on all.
func TestCredibleIntervals(t *testing.T) {
	const j, d = 11, 133
	r := rand.New(rand.NewPCG(1, 2))
	x := mat.NewDense(j, d, nil)
	for k := 0; k < d; k++ {
		for i, v := range r.Perm(j) {
			x.Set(i, k, float64(v)+float64(k))
		}
	}
	levels := []float64{0.5, 0.9, 0.95}
	lo, hi, err := CredibleIntervals(x, levels)
	if err != nil {
		t.Fatal(err)
	}
	for l, level := range levels {
		for k := 0; k < d; k++ {
			wl, wh := (1-level)/2*(j-1)+float64(k), (1+level)/2*(j-1)+float64(k)
			if d := lo[l][k] - wl; d > 1e-12 || d < -1e-12 {
				t.Fatalf("level %v column %d: lo = %v, want %v", level, k, lo[l][k], wl)
			}
			if d := hi[l][k] - wh; d > 1e-12 || d < -1e-12 {
				t.Fatalf("level %v column %d: hi = %v, want %v", level, k, hi[l][k], wh)
			}
		}
	}
	one, _, err := CredibleInterval(x, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	serial, _, err := CredibleIntervals(x, levels)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	for k := range one {
		if one[k] != lo[1][k] || serial[1][k] != lo[1][k] {
			t.Fatalf("column %d: CredibleInterval %v, one core %v, all cores %v", k, one[k], serial[1][k], lo[1][k])
		}
	}
	// Random values: the same as the straightforward implementation.
	for i := range x.RawMatrix().Data {
		x.RawMatrix().Data[i] = r.NormFloat64()
	}
	lo, hi, err = CredibleIntervals(x, levels)
	if err != nil {
		t.Fatal(err)
	}
	for l, level := range levels {
		nl, nh := naiveInterval(x, level)
		for k := range nl {
			if lo[l][k] != nl[k] || hi[l][k] != nh[k] {
				t.Fatalf("level %v column %d: [%v, %v], straightforward [%v, %v]", level, k, lo[l][k], hi[l][k], nl[k], nh[k])
			}
		}
	}
	for _, bad := range []float64{0, 1, -0.5, 1.5} {
		if _, _, err := CredibleIntervals(x, []float64{0.5, bad}); err == nil {
			t.Errorf("level %v accepted", bad)
		}
	}
}

// BenchmarkCredibleIntervals: the 3 coverage levels of problem's metrics on a 256² field
// with J = 128 members, against the straightforward implementation (naiveInterval) called
// once per level.
func BenchmarkCredibleIntervals(b *testing.B) {
	const j, d = 128, 256 * 256
	r := rand.New(rand.NewPCG(1, 2))
	x := mat.NewDense(j, d, nil)
	for i := range x.RawMatrix().Data {
		x.RawMatrix().Data[i] = r.NormFloat64()
	}
	levels := []float64{0.5, 0.9, 0.95}
	b.Run("levels-together", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := CredibleIntervals(x, levels); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive-per-level", func(b *testing.B) {
		for b.Loop() {
			for _, l := range levels {
				naiveInterval(x, l)
			}
		}
	})
}

// naiveInterval is the straightforward implementation (the one CredibleInterval had before):
// one column at a time, read with a stride of a row, sorted, on one core.
func naiveInterval(x *mat.Dense, level float64) (lo, hi []float64) {
	j, d := x.Dims()
	lo, hi = make([]float64, d), make([]float64, d)
	col := make([]float64, j)
	q := func(p float64) float64 {
		h := p * float64(j-1)
		k := int(math.Floor(h))
		if k >= j-1 {
			return col[j-1]
		}
		return col[k] + (h-float64(k))*(col[k+1]-col[k])
	}
	for k := 0; k < d; k++ {
		for i := 0; i < j; i++ {
			col[i] = x.At(i, k)
		}
		slices.Sort(col)
		lo[k], hi[k] = q((1-level)/2), q((1+level)/2)
	}
	return lo, hi
}
