package spectral

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/rng"
)

func TestGRFReference(t *testing.T) {
	for _, c := range []struct{ xi, w0 string }{
		{"a_seed0_xi.npy", "a_seed0_w0.npy"},
		{"b_seed100_xi.npy", "b_seed100_w0.npy"},
	} {
		shape, xi := readNPY(t, c.xi)
		_, want := readNPY(t, c.w0)
		s := shape[0]
		g, err := NewGRF(s, s, DefaultGRFSettings())
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, s*s)
		g.FromNormals(got, xi)
		if d := maxAbsDiff(got, want); d > 1e-12 {
			t.Errorf("%s: max abs diff %g > 1e-12", c.w0, d)
		} else {
			t.Logf("%s: max abs diff %.3g", c.w0, d)
		}
		// The zero-value settings mean the defaults.
		g0, _ := NewGRF(s, s, GRFSettings{})
		g0.FromNormals(got, xi)
		if d := maxAbsDiff(got, want); d > 1e-12 {
			t.Errorf("%s with zero settings: max abs diff %g", c.w0, d)
		}
	}
}

// TestGRFVariance checks the normalisation on a non-square, L1 ≠ L2 grid. With
// w = Im(ifft2(√λ ⊙ ξ)) = (1/N)·Σ_k √λ_k·Im(ξ_k e^{iθ_k}), N = nx·ny, and Im(ξ e^{iθ}) of unit
// variance, the pointwise variance is Σ_k λ_k / N².
func TestGRFVariance(t *testing.T) {
	nx, ny := 16, 8
	g, err := NewGRF(nx, ny, GRFSettings{Alpha: 2, Tau: 3, L1: 1, L2: 2})
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, e := range g.SqrtEig() {
		want += e * e
	}
	want /= float64(nx*ny) * float64(nx*ny) // E[Im(c·z/N)²] = λ/N² for c ~ CN(0, 2)
	const k = 4000
	dst := make([]float64, k*nx*ny)
	if err := g.SampleBatch(context.Background(), dst, 9, 2); err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, x := range dst {
		v += x * x
	}
	v /= float64(len(dst))
	if math.Abs(v-want) > 0.05*want {
		t.Errorf("pointwise variance %g, want %g", v, want)
	}
}

func TestGRFBatchWorkerIndependent(t *testing.T) {
	g, _ := NewGRF(16, 16, DefaultGRFSettings())
	a := make([]float64, 5*256)
	b := make([]float64, 5*256)
	if err := g.SampleBatch(context.Background(), a, 42, 1); err != nil {
		t.Fatal(err)
	}
	if err := g.SampleBatch(context.Background(), b, 42, 3); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("SampleBatch depends on the number of workers")
		}
	}
	// Member 2 equals a single Sample from stream (42, 2).
	one := make([]float64, 256)
	g.Sample(one, rng.Stream(42, 2))
	for i := range one {
		if one[i] != a[2*256+i] {
			t.Fatal("member 2 differs from Sample with rng.Stream(42, 2)")
		}
	}
	if err := g.SampleBatch(context.Background(), make([]float64, 100), 1, 1); err == nil {
		t.Error("bad dst length: want error")
	}
}

func TestGRFBadSettings(t *testing.T) {
	for _, s := range []GRFSettings{
		{Tau: -1}, {Sigma: -2}, {L1: -1}, {Alpha: math.NaN()}, {Tau: math.Inf(1)},
	} {
		if _, err := NewGRF(8, 8, s); err == nil {
			t.Errorf("NewGRF(%+v): want error", s)
		}
	}
	if _, err := NewGRF(0, 8, GRFSettings{}); err == nil {
		t.Error("NewGRF size 0: want error")
	}
}

// TestGRFTinyGrids: issue 15 — grids of 1…3 points per axis kept no mode and sampled
// all-zero fields silently. Now they are an error, and every accepted grid has a mode.
func TestGRFTinyGrids(t *testing.T) {
	zero := map[[2]int]bool{{1, 4}: true, {1, 5}: true}
	for nx := 1; nx <= 9; nx++ {
		for ny := 1; ny <= 9; ny++ {
			g, err := NewGRF(nx, ny, DefaultGRFSettings())
			if max(nx, ny) < 4 || zero[[2]int{nx, ny}] {
				if err == nil || !strings.Contains(err.Error(), "every field would be zero") {
					t.Errorf("%d×%d: err = %v, want the all-zero error", nx, ny, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%d×%d: %v", nx, ny, err)
			}
			nonzero := false
			for _, v := range g.SqrtEig() {
				nonzero = nonzero || v != 0
			}
			if !nonzero {
				t.Errorf("%d×%d accepted but keeps no mode", nx, ny)
			}
		}
	}
}

// TestGRFMemoryLimit: issue 15 — a huge grid ran out of memory; now the estimate is checked
// first.
func TestGRFMemoryLimit(t *testing.T) {
	t.Setenv(memlimit.Env, "64M")
	_, err := NewGRF(100000, 100000, GRFSettings{})
	if !errors.Is(err, memlimit.ErrTooLarge) || !strings.Contains(err.Error(), "100000×100000") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewGRF(64, 64, GRFSettings{}); err != nil {
		t.Fatal(err)
	}
}

// TestGRFNonSquareNaive re-derives GaussianRF2d's constructor and sample for non-square,
// odd-sized grids with L1 ≠ L2 straight from its definition (torch.arange lists with
// Python floor division, the half-plane mask, Im of a naive inverse DFT) and compares.
func TestGRFNonSquareNaive(t *testing.T) {
	for _, c := range []struct {
		nx, ny int
		s      GRFSettings
	}{
		{6, 10, GRFSettings{Alpha: 3, Tau: 2, Sigma: 1.5, L1: 1, L2: 3}},
		{5, 8, GRFSettings{Alpha: 2.5, Tau: 7, L1: 2 * math.Pi, L2: 4}},
		{7, 3, GRFSettings{Alpha: 2, Tau: 1}},
	} {
		g, err := NewGRF(c.nx, c.ny, c.s)
		if err != nil {
			t.Fatal(err)
		}
		s := g.Settings()
		pyFreq := func(n int) []float64 { // cat(arange(0, n//2), arange(-n//2, 0)) with floor division
			var k []float64
			for i := 0; i < n/2; i++ {
				k = append(k, float64(i))
			}
			for i := int(math.Floor(-float64(n) / 2)); i < 0; i++ {
				k = append(k, float64(i))
			}
			return k
		}
		k1s, k2s := pyFreq(c.nx), pyFreq(c.ny)
		if len(k1s) != c.nx || len(k2s) != c.ny {
			t.Fatalf("frequency list lengths %d, %d", len(k1s), len(k2s))
		}
		n := c.nx * c.ny
		xi := make([]float64, 2*n)
		rng.Normal(xi, rng.New(uint64(n)))
		coef := make([]complex128, n)
		for i, k1 := range k1s {
			for j, k2 := range k2s {
				e := float64(n) * s.Sigma * math.Sqrt(2/(s.L1*s.L2)) *
					math.Pow(4*math.Pi*math.Pi/(s.L1*s.L1)*k1*k1+4*math.Pi*math.Pi/(s.L2*s.L2)*k2*k2+s.Tau*s.Tau, -s.Alpha/2)
				if (i == 0 && j == 0) || (k1+k2 <= 0 && (k1+k2 != 0 || k1 <= 0)) {
					e = 0
				}
				coef[i*c.ny+j] = complex(e*xi[2*(i*c.ny+j)], e*xi[2*(i*c.ny+j)+1])
			}
		}
		want := naiveFFT2(coef, c.nx, c.ny, 1)
		got := make([]float64, n)
		g.FromNormals(got, xi)
		for i := range got {
			if d := math.Abs(got[i] - imag(want[i])/float64(n)); d > 1e-12*(1+math.Abs(got[i])) {
				t.Fatalf("%d×%d %+v: index %d: got %g want %g", c.nx, c.ny, c.s, i, got[i], imag(want[i])/float64(n))
			}
		}
	}
}
