// Package parallel runs loops over ensemble members on a bounded pool of goroutines.
package parallel

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers returns n if n > 0, else GOMAXPROCS.
func Workers(n int) int {
	if n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// For calls fn(worker, i) for i = 0 … n−1 on at most workers goroutines (GOMAXPROCS if
// workers ≤ 0). worker ∈ [0, workers) identifies the goroutine, so callers can index
// per-worker scratch space. The first error stops new iterations; For returns the error of
// the lowest failing index among those run (or ctx.Err() if ctx was cancelled first). No
// goroutine outlives the call.
func For(ctx context.Context, n, workers int, fn func(worker, i int) error) error {
	workers = Workers(workers)
	if workers > n {
		workers = n
	}
	if n == 0 {
		return ctx.Err()
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(0, i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next   atomic.Int64
		stop   atomic.Bool
		mu     sync.Mutex
		errIdx = n
		first  error
		wg     sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = fn(w, i)
				}
				if err != nil {
					mu.Lock()
					if i < errIdx {
						errIdx, first = i, err
					}
					mu.Unlock()
					stop.Store(true)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	return first
}
