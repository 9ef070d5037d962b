package pde

import (
	"context"
	"fmt"

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
// DefaultSettings()) on workers goroutines (GOMAXPROCS if workers ≤ 0).
func NewEnsemble(nx, ny int, s *Settings, workers int) (*Ensemble, error) {
	workers = parallel.Workers(workers)
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
// alias w0). A failing member (blow-up, non-finite input) stops the solve with an error
// naming the member.
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
	return parallel.For(ctx, m, len(e.solvers), func(w, k int) error {
		s := e.solvers[w]
		err := s.Solve(ctx, dst[k*n:(k+1)*n], w0[k*n:(k+1)*n], T)
		e.steps[k] = s.steps
		if err != nil {
			if ctx.Err() != nil && err == ctx.Err() {
				return err
			}
			return fmt.Errorf("member %d: %w", k, err)
		}
		if e.OnMemberDone != nil {
			e.OnMemberDone(k)
		}
		return nil
	})
}
