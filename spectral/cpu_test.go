package spectral

import (
	"runtime"
	"time"
)

// minPerOp runs f in `batches` batches of n calls on a locked OS thread and returns the
// smallest wall time per call over the batches. On a shared, loaded machine interference
// only ever adds time, so the minimum is the most repeatable estimate of the cost of f;
// it is used for the side-by-side ratio report (TestReportRatios) besides go test -bench.
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
