package guidance

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// Evaluator is the minimal interface of a forward-model backend: a batch of members in
// (one per row), their outputs out, a failure per member. Pool (goroutines on this machine)
// implements it; a distributed backend (members sent to worker processes) can too. It does
// not count: Counted wraps an Evaluator into the Engine the algorithms use.
//
// Row i of dst must depend only on row i of x — not on the batch, its size or how it is
// split — so that results are bit-identical whatever the backend and its number of workers.
// The denoiser is already a batch interface (diffusion.Denoiser) and is passed as data too.
type Evaluator interface {
	// Forward writes G(x_i) into row i of dst for every row i of x. A member whose evaluation
	// fails or gives a NaN or an infinity is a *MemberError (Step −1, Member its row): with
	// errs == nil the first such member (lowest row among those evaluated) is returned and
	// the batch may stop early; otherwise len(errs) is the number of rows, errs[i] is set
	// (nil for success) and every member is evaluated. The error returned with errs != nil is
	// for the batch as a whole (cancellation, dimensions, a transport).
	Forward(ctx context.Context, dst, x *mat.Dense, errs []error) error
	// InputDim and OutputDim are the model's dimensions.
	InputDim() int
	OutputDim() int
}

// Pool is the Evaluator of a bounded pool of goroutines on this machine with one
// forward-model instance per worker (from an operator.Factory: plans and solver workspaces
// are never shared). Cancelling the context stops new member evaluations promptly.
type Pool struct {
	workers int
	ops     []operator.Operator
	in, out int
}

// NewPool returns a pool of the given number of workers (GOMAXPROCS if ≤ 0), calling f once
// per worker. All instances must agree on their dimensions.
func NewPool(f operator.Factory, workers int) (*Pool, error) {
	if f == nil {
		return nil, errors.New("guidance: nil operator factory")
	}
	workers = parallel.Workers(workers)
	p := &Pool{workers: workers, ops: make([]operator.Operator, workers)}
	for w := range p.ops {
		op, err := f()
		if err != nil {
			return nil, fmt.Errorf("guidance: creating forward model for worker %d: %w", w, err)
		}
		if op == nil {
			return nil, fmt.Errorf("guidance: operator factory returned nil for worker %d", w)
		}
		if w == 0 {
			p.in, p.out = op.InputDim(), op.OutputDim()
			if p.in < 1 || p.out < 1 {
				return nil, fmt.Errorf("guidance: forward model dimensions %d → %d: %w", p.in, p.out, operator.ErrDim)
			}
		} else if op.InputDim() != p.in || op.OutputDim() != p.out {
			return nil, fmt.Errorf("guidance: factory instance %d has dimensions %d → %d, instance 0 %d → %d: %w",
				w, op.InputDim(), op.OutputDim(), p.in, p.out, operator.ErrDim)
		}
		p.ops[w] = op
	}
	return p, nil
}

// Workers returns the number of workers.
func (p *Pool) Workers() int { return p.workers }

// InputDim returns the forward model's input dimension.
func (p *Pool) InputDim() int { return p.in }

// OutputDim returns the forward model's output dimension.
func (p *Pool) OutputDim() int { return p.out }

// Forward evaluates G on every row of x on the pool (see Evaluator).
func (p *Pool) Forward(ctx context.Context, dst, x *mat.Dense, errs []error) error {
	if err := checkBatch(p.in, p.out, dst, x, errs); err != nil {
		return err
	}
	r, _ := x.Dims()
	return parallel.For(ctx, r, p.workers, func(w, i int) error {
		out := dst.RawRowView(i)
		err := p.ops[w].Forward(ctx, out, x.RawRowView(i))
		if err == nil {
			err = operator.CheckFinite("output", out)
		}
		if errs != nil {
			errs[i] = nil
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return err
		}
		me := &MemberError{Step: -1, Member: i, What: "forward model", Err: err}
		if errs == nil {
			return me
		}
		errs[i] = me
		return nil
	})
}

// checkBatch checks the shapes of a batch against a model in → out.
func checkBatch(in, out int, dst, x *mat.Dense, errs []error) error {
	r, c := x.Dims()
	rd, cd := dst.Dims()
	if c != in || rd != r || cd != out || (errs != nil && len(errs) != r) {
		return fmt.Errorf("guidance: forward of a %d×%d ensemble into %d×%d, model %d → %d: %w",
			r, c, rd, cd, in, out, operator.ErrDim)
	}
	return nil
}

// Counted is the Engine of an Evaluator: it counts every evaluation (Counts), checks shapes,
// evaluates the denoiser (counted, checked finite) and does the local arithmetic of the
// algorithms with Workers goroutines. It has no model gradients (Adjoint returns
// ErrNoAdjoint): Local adds them for a local model.
type Counted struct {
	ev      Evaluator
	workers int
	in, out int

	forward, adjoint, denoise, vjp atomic.Int64
	seq, failed                    atomic.Int64
}

// NewCounted returns the counting Engine of ev, with workers goroutines (GOMAXPROCS if ≤ 0)
// for the algorithms' per-member arithmetic.
func NewCounted(ev Evaluator, workers int) *Counted {
	return &Counted{ev: ev, workers: parallel.Workers(workers), in: ev.InputDim(), out: ev.OutputDim()}
}

// Evaluator returns the evaluator c counts.
func (c *Counted) Evaluator() Evaluator { return c.ev }

// Workers returns the number of local goroutines.
func (c *Counted) Workers() int { return c.workers }

// InputDim returns the forward model's input dimension.
func (c *Counted) InputDim() int { return c.in }

// OutputDim returns the forward model's output dimension.
func (c *Counted) OutputDim() int { return c.out }

// Counts returns the evaluations so far.
func (c *Counted) Counts() Counts {
	return Counts{Forward: c.forward.Load(), Sequential: c.seq.Load(), Adjoint: c.adjoint.Load(),
		Denoiser: c.denoise.Load(), DenoiserVJP: c.vjp.Load(), Failed: c.failed.Load()}
}

// AddSequential adds n to the sequential forward count.
func (c *Counted) AddSequential(n int64) { c.seq.Add(n) }

// Forward evaluates G on every row of x (one sequential round); the first failed member is
// a *MemberError.
func (c *Counted) Forward(ctx context.Context, dst, x *mat.Dense) error {
	if err := checkBatch(c.in, c.out, dst, x, nil); err != nil {
		return err
	}
	c.seq.Add(1)
	return c.batch(ctx, dst, x)
}

// ForwardBatch evaluates G on every row of x as a part of the current round.
func (c *Counted) ForwardBatch(ctx context.Context, dst, x *mat.Dense) error {
	if err := checkBatch(c.in, c.out, dst, x, nil); err != nil {
		return err
	}
	return c.batch(ctx, dst, x)
}

func (c *Counted) batch(ctx context.Context, dst, x *mat.Dense) error {
	r, _ := x.Dims()
	c.forward.Add(int64(r))
	err := c.ev.Forward(ctx, dst, x, nil)
	var me *MemberError
	if errors.As(err, &me) {
		c.failed.Add(1)
	}
	return err
}

// ForwardMembers evaluates G on every row of x (one sequential round), recording failed
// members in errs (MemberForwarder).
func (c *Counted) ForwardMembers(ctx context.Context, dst, x *mat.Dense, errs []error) (int, error) {
	if err := checkBatch(c.in, c.out, dst, x, errs); err != nil {
		return 0, err
	}
	c.seq.Add(1)
	r, _ := x.Dims()
	c.forward.Add(int64(r))
	if err := c.ev.Forward(ctx, dst, x, errs); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range errs {
		if e != nil {
			n++
		}
	}
	c.failed.Add(int64(n))
	return n, nil
}

// HasAdjoint reports false: an Evaluator has no gradients.
func (c *Counted) HasAdjoint() bool { return false }

// Adjoint returns ErrNoAdjoint.
func (c *Counted) Adjoint(context.Context, *mat.Dense, *mat.Dense) error { return ErrNoAdjoint }

// queryError maps a *MemberError of row t of a chunk of query points (queries q0 … q0+n−1,
// per queries per member; rows n … 2n−1 the mirrored points of central differences) to the
// member the query belongs to, at step.
func queryError(err error, step, q0, n, per int, what string) error {
	var me *MemberError
	if errors.As(err, &me) {
		return &MemberError{Step: step, Member: (q0 + me.Member%n) / per, What: what, Err: me.Err}
	}
	return err
}
