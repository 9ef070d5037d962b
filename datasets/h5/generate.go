package h5

import (
	"context"
	"fmt"
	"runtime"

	"github.com/enkg-go/enkg/internal/parallel"
)

// MemberFunc computes member i into dst (length Nx·Ny). worker identifies the calling
// goroutine, for per-worker scratch (solvers, plans): 0 ≤ worker < the workers argument of
// Generate (GOMAXPROCS when that is ≤ 0).
type MemberFunc func(ctx context.Context, worker, i int, dst []float64) error

// Generate computes every member of fl that is not done yet with fn, on workers goroutines
// (≤ 0: GOMAXPROCS), writing each member as soon as it is computed (WriteMember: the file is
// flushed and the member marked done, so an interrupted run resumed with Resume and
// Generate computes only what is missing). onDone, if not nil, is called after each member
// is written (from the worker goroutines, serially per member). fn must depend only on i
// (e.g. draw from rng.Stream(seed, i)) for the dataset not to depend on workers or on
// interruptions. Generate returns the first error (naming the member) or ctx.Err().
func Generate(ctx context.Context, fl *File, workers int, fn MemberFunc, onDone func(i int)) error {
	pending, err := fl.Pending()
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return nil
	}
	_, nx, ny := fl.Shape()
	w := workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	w = min(w, len(pending))
	bufs := make([][]float64, w)
	for k := range bufs {
		bufs[k] = make([]float64, nx*ny)
	}
	return parallel.For(ctx, len(pending), w, func(worker, k int) error {
		i := pending[k]
		dst := bufs[worker]
		if err := fn(ctx, worker, i, dst); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("member %d: %w", i, err)
		}
		if err := fl.WriteMember(i, dst); err != nil {
			return err
		}
		if onDone != nil {
			onDone(i)
		}
		return nil
	})
}
