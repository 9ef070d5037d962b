package spectral

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"
)

// minPerOp runs f in `batches` batches of n calls on a locked OS thread and returns the
// smallest wall time per call over the batches. On a shared, loaded machine interference
// only ever adds time, so the minimum is the most repeatable estimate of the cost of f.
func minPerOp(batches, n int, f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f()
	best := time.Duration(1 << 62)
	for b := 0; b < batches; b++ {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			f()
		}
		if d := time.Since(t0) / time.Duration(n); d < best {
			best = d
		}
	}
	return best
}

// TestSpeedReport prints the side-by-side speed of the pure-Go plans against gonum's
// dsp/fourier composed into 2-D (minimum over batches, robust on a busy machine). It runs
// with ENKG_LONG=1: go test -run SpeedReport -v ./spectral
func TestSpeedReport(t *testing.T) {
	if os.Getenv("ENKG_LONG") == "" {
		t.Skip("set ENKG_LONG=1 to print the speed report")
	}
	for _, n := range []int{64, 128, 256} {
		r := rand.New(rand.NewPCG(1, 2))
		f := randReal(r, n*n)
		F := make([]complex128, n*(n/2+1))
		p, _ := NewPurePlan(n, n)
		g := newGonumPlan(n, n)
		p.Forward(F, f)
		reps := max(1, 200*64*64/(n*n))
		goF := minPerOp(30, reps, func() { p.Forward(F, f) })
		gnF := minPerOp(60, max(1, reps/16), func() { g.Forward(F, f) })
		goI := minPerOp(30, reps, func() { p.Inverse(f, F) })
		gnI := minPerOp(60, max(1, reps/16), func() { g.Inverse(f, F) })
		t.Logf("%s", fmt.Sprintf("%3d² r2c: go %8v  gonum %8v  (%.1f× faster) | c2r: go %8v  gonum %8v  (%.1f× faster)",
			n, goF, gnF, float64(gnF)/float64(goF), goI, gnI, float64(gnI)/float64(goI)))
	}
}
