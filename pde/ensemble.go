package pde

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/internal/parallel"
)

// Ensemble solves stacks of Nx×Ny fields in parallel, one Solver per worker. Every member
// takes its own (adaptive) time steps, so a member's result depends only on its initial
// field: results are bit-identical for any number of workers. An Ensemble must be used by
// one goroutine at a time.
type Ensemble struct {
	nx, ny  int
	solvers []*Solver
	steps   []int

	// OnMemberDone, if not nil, is called after each member's solve completes, from the
	// worker goroutine that solved it (calls may be concurrent).
	OnMemberDone func(member int)
}

// NewEnsemble returns an ensemble solver for nx×ny fields with settings s (nil for
// DefaultSettings()) on workers goroutines (GOMAXPROCS if workers ≤ 0). The memory of the
// workers' solvers (SolverMemory each) is checked against internal/memlimit first.
func NewEnsemble(nx, ny int, s *Settings, workers int) (*Ensemble, error) {
	workers = parallel.Workers(workers)
	if err := checkGrid(nx, ny); err != nil {
		return nil, err
	}
	adaptive := s == nil || s.Dt == 0
	if err := memlimit.Check(fmt.Sprintf("pde: %d Navier–Stokes solver(s) of %d×%d (one per worker)", workers, nx, ny),
		float64(workers)*SolverMemory(nx, ny, adaptive)); err != nil {
		return nil, err
	}
	e := &Ensemble{nx: nx, ny: ny, solvers: make([]*Solver, workers)}
	for w := range e.solvers {
		sv, err := NewSolver(nx, ny, s)
		if err != nil {
			return nil, err
		}
		e.solvers[w] = sv
	}
	return e, nil
}

// Workers returns the number of workers.
func (e *Ensemble) Workers() int { return len(e.solvers) }

// Steps returns the number of time steps each member took in the last Solve (valid until
// the next Solve).
func (e *Ensemble) Steps() []int { return e.steps }

// Solve integrates each of the m = len(w0)/(Nx·Ny) stacked initial fields (member k is
// w0[k·Nx·Ny : (k+1)·Nx·Ny]) to time T and writes the results into dst (same length; dst may
// equal w0). A failing member (blow-up, non-finite input) cancels the others and Solve
// returns its error, naming the member (the lowest failing index among those that ran).
func (e *Ensemble) Solve(ctx context.Context, dst, w0 []float64, T float64) error {
	n := e.nx * e.ny
	if len(w0) == 0 || len(w0)%n != 0 || len(dst) != len(w0) {
		return fmt.Errorf("pde: ensemble lengths w0 %d, dst %d: want equal non-zero multiples of %d×%d = %d: %w",
			len(w0), len(dst), e.nx, e.ny, n, ErrInput)
	}
	m := len(w0) / n
	if cap(e.steps) < m {
		e.steps = make([]int, m)
	}
	e.steps = e.steps[:m]
	// A failing member cancels the solves in flight on the other workers.
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu     sync.Mutex
		failed = -1
		first  error
	)
	err := parallel.For(inner, m, len(e.solvers), func(w, k int) error {
		s := e.solvers[w]
		err := s.Solve(inner, dst[k*n:(k+1)*n], w0[k*n:(k+1)*n], T)
		e.steps[k] = s.steps
		if err != nil {
			if inner.Err() != nil && errors.Is(err, inner.Err()) {
				return err // cancelled, by the caller or by another member's failure
			}
			err = fmt.Errorf("member %d: %w", k, err)
			mu.Lock()
			if failed < 0 || k < failed {
				failed, first = k, err
			}
			mu.Unlock()
			cancel()
			return err
		}
		if e.OnMemberDone != nil {
			e.OnMemberDone(k)
		}
		return nil
	})
	if first != nil {
		return first
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
