package guidance

import (
	"context"
	"runtime"
	"testing"

	"github.com/enkg-go/enkg/operator"
)

// TestEnKGAllocationsPerStep: after the workspace is sized, a guided step allocates only the
// bookkeeping of goroutine pools (gonum's parallel Dgemm, the engine's worker pool): a few
// kilobytes, independent of the ensemble's size, never a copy of it.
func TestEnKGAllocationsPerStep(t *testing.T) {
	perStep := func(j, n int) (allocs, bytes float64) {
		op := strided{n}
		p := &Problem{Observation: make([]float64, op.OutputDim()), Forward: func() (operator.Operator, error) { return op, nil },
			Prior: newDiagGauss(n*n, 0, 1)}
		eng, _ := NewLocal(p.Forward, 2)
		run := func(steps int) (float64, float64) {
			s := DefaultEnKGSettings()
			s.Members, s.Steps, s.Updates, s.ThresholdStart, s.ThresholdEnd, s.MaxODESteps = j, steps, 2, 0, 0, 1
			m, _ := NewEnKG(s)
			var a, b runtime.MemStats
			runtime.ReadMemStats(&a)
			if _, err := m.Run(context.Background(), p, eng, nil); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&b)
			return float64(b.Mallocs - a.Mallocs), float64(b.TotalAlloc - a.TotalAlloc)
		}
		a1, b1 := run(6)
		a2, b2 := run(12)
		return (a2 - a1) / 6, (b2 - b1) / 6
	}
	for _, c := range []struct{ j, n int }{{8, 8}, {64, 32}, {128, 64}} {
		a, b := perStep(c.j, c.n)
		ens := float64(c.j * c.n * c.n * 8)
		t.Logf("J=%d, D=%d: %.0f allocations, %.1f kB per guided step (ensemble %.0f kB)", c.j, c.n*c.n, a, b/1e3, ens/1e3)
		// Measured 0.8, 9.3 and 58 kB (1.4 % of the ensemble, nearly all gonum's dgemmParallel
		// goroutine bookkeeping; the OpenBLAS build allocates nothing in the update).
		if b > 0.03*ens && b > 16e3 {
			t.Errorf("J=%d, D=%d: %.1f kB allocated per step", c.j, c.n*c.n, b/1e3)
		}
	}
}
