//go:build fftw

package fftw

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/enkg-go/enkg/spectral"
)

func randReal(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

// TestMatchesGo checks the FFTW backend against the pure-Go plan: forward on random
// fields, inverse on their spectra and on arbitrary (non-Hermitian) half spectra.
func TestMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{8, 8}, {16, 8}, {64, 64}, {128, 128}, {12, 18}} {
		nx, ny := sz[0], sz[1]
		p, err := spectral.NewPlan(nx, ny)
		if err != nil {
			t.Fatal(err)
		}
		if p.Backend() != "fftw" {
			t.Fatalf("backend %q, want fftw", p.Backend())
		}
		g, _ := spectral.NewPurePlan(nx, ny)
		if g.Backend() != "go" {
			t.Fatalf("NewPurePlan backend %q", g.Backend())
		}
		f := randReal(r, nx*ny)
		nyh := ny/2 + 1
		F1 := make([]complex128, nx*nyh)
		F2 := make([]complex128, nx*nyh)
		p.Forward(F1, f)
		g.Forward(F2, f)
		for i := range F1 {
			if d := cmplx.Abs(F1[i] - F2[i]); d > 1e-12 {
				t.Fatalf("%d×%d: Forward fftw vs go differ by %g", nx, ny, d)
			}
		}
		o1, o2 := make([]float64, nx*ny), make([]float64, nx*ny)
		p.Inverse(o1, F1)
		g.Inverse(o2, F1)
		for i := range o1 {
			if d := math.Abs(o1[i] - o2[i]); d > 1e-13 || math.Abs(o1[i]-f[i]) > 1e-13 {
				t.Fatalf("%d×%d: Inverse fftw %g, go %g, field %g", nx, ny, o1[i], o2[i], f[i])
			}
		}
	}
	// A spectrum that is not Hermitian-consistent (random values everywhere): FFTW does not
	// document its c2r result for such input; check it still equals numpy's semantics.
	for _, sz := range [][2]int{{8, 8}, {64, 64}, {128, 128}, {12, 18}} {
		nx, ny := sz[0], sz[1]
		p, _ := spectral.NewPlan(nx, ny)
		g, _ := spectral.NewPurePlan(nx, ny)
		G := make([]complex128, nx*(ny/2+1))
		for i := range G {
			G[i] = complex(r.NormFloat64(), r.NormFloat64())
		}
		o1, o2 := make([]float64, nx*ny), make([]float64, nx*ny)
		p.Inverse(o1, G)
		g.Inverse(o2, G)
		for i := range o1 {
			if d := math.Abs(o1[i] - o2[i]); d > 1e-14 {
				t.Fatalf("%d×%d: non-Hermitian Inverse fftw %g vs go %g", nx, ny, o1[i], o2[i])
			}
		}
	}
	if _, err := NewReal(3, 4); err == nil {
		t.Error("NewReal(3, 4): want error")
	}
}

// BenchmarkFFTW compares, in one run, the pure-Go plan, the FFTW backend behind
// spectral.Plan (Go slices, input copy for c2r) and FFTW called in a loop from C (no cgo
// per-call overhead; "copyin" restores the c2r input before each call as Plan must).
func BenchmarkFFTW(b *testing.B) {
	for _, n := range []int{64, 128, 256} {
		r := rand.New(rand.NewPCG(1, 2))
		f := randReal(r, n*n)
		F := make([]complex128, n*(n/2+1))
		p, _ := spectral.NewPlan(n, n)
		g, _ := spectral.NewPurePlan(n, n)
		fb, _ := NewReal(n, n)
		copy(fb.rbuf, f)
		p.Forward(F, f)
		b.Run(fmt.Sprintf("r2c/%d/go", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Forward(F, f)
			}
		})
		b.Run(fmt.Sprintf("r2c/%d/fftw-plan", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Forward(F, f)
			}
		})
		b.Run(fmt.Sprintf("r2c/%d/fftw-C", n), func(b *testing.B) {
			fftwLoop(fb, false, false, nil, b.N)
		})
		b.Run(fmt.Sprintf("c2r/%d/go", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Inverse(f, F)
			}
		})
		b.Run(fmt.Sprintf("c2r/%d/fftw-plan", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Inverse(f, F)
			}
		})
		b.Run(fmt.Sprintf("c2r/%d/fftw-C-copyin", n), func(b *testing.B) {
			fftwLoop(fb, true, true, F, b.N)
		})
		b.Run(fmt.Sprintf("c2r/%d/fftw-C", n), func(b *testing.B) {
			copy(fb.cbuf, F)
			fftwLoop(fb, true, false, nil, b.N)
		})
	}
}

// minPerOp is the smallest wall time per call of f over batches of n calls (interference
// on a busy machine only adds time); fn receives the batch size.
func minPerOp(batches, n int, fn func(n int)) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fn(1)
	best := time.Duration(1 << 62)
	for b := 0; b < batches; b++ {
		t0 := time.Now()
		fn(n)
		if d := time.Since(t0) / time.Duration(n); d < best {
			best = d
		}
	}
	return best
}

// TestSpeedReport prints pure Go vs FFTW (through spectral.Plan, and called from C) as
// minima over batches. Run with ENKG_LONG=1 go test -tags fftw -run SpeedReport -v ./spectral/fftw
func TestSpeedReport(t *testing.T) {
	if os.Getenv("ENKG_LONG") == "" {
		t.Skip("set ENKG_LONG=1 to print the speed report")
	}
	for _, n := range []int{64, 128, 256} {
		r := rand.New(rand.NewPCG(1, 2))
		f := randReal(r, n*n)
		F := make([]complex128, n*(n/2+1))
		p, _ := spectral.NewPlan(n, n)
		g, _ := spectral.NewPurePlan(n, n)
		fb, _ := NewReal(n, n)
		copy(fb.rbuf, f)
		p.Forward(F, f)
		reps := max(1, 200*64*64/(n*n))
		loop := func(f func()) func(int) {
			return func(k int) {
				for i := 0; i < k; i++ {
					f()
				}
			}
		}
		goF := minPerOp(30, reps, loop(func() { g.Forward(F, f) }))
		plF := minPerOp(30, reps, loop(func() { p.Forward(F, f) }))
		cF := minPerOp(30, reps, func(k int) { fftwLoop(fb, false, false, nil, k) })
		goI := minPerOp(30, reps, loop(func() { g.Inverse(f, F) }))
		plI := minPerOp(30, reps, loop(func() { p.Inverse(f, F) }))
		cIc := minPerOp(30, reps, func(k int) { fftwLoop(fb, true, true, F, k) })
		copy(fb.cbuf, F)
		cI := minPerOp(30, reps, func(k int) { fftwLoop(fb, true, false, nil, k) })
		t.Logf("%3d² r2c: go %v, fftw-plan %v, C fftw %v → go/C %.2f, plan/C %.2f", n, goF, plF, cF,
			float64(goF)/float64(cF), float64(plF)/float64(cF))
		t.Logf("%3d² c2r: go %v, fftw-plan %v, C fftw %v (with input copy %v) → go/C %.2f (%.2f), plan/C %.2f (%.2f)",
			n, goI, plI, cI, cIc, float64(goI)/float64(cI), float64(goI)/float64(cIc), float64(plI)/float64(cI), float64(plI)/float64(cIc))
	}
}
