package guidance

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// Engine evaluates the forward model and the prior over a whole ensemble for the algorithms.
// Every evaluation is counted (Counts), so that every Result reports its cost. Counted is the
// Engine of any Evaluator (the minimal backend interface: batches of members in, outputs
// out); Local is Counted over the local worker pool (Pool) with the model's gradients.
// Algorithms pass data (matrices of members), never code, so a backend may run elsewhere.
//
// Rows of an ensemble are members. Results must not depend on how members are distributed
// over workers: member i's output depends only on row i of the input.
type Engine interface {
	// Forward writes G(x_i) into row i of dst for every row i of x (one parallel round).
	// A member whose evaluation fails or gives a non-finite value yields a *MemberError.
	Forward(ctx context.Context, dst, x *mat.Dense) error
	// Adjoint writes Aᵀ·v_i into row i of dst, for linear operators that implement
	// operator.Adjointer; otherwise it returns ErrNoAdjoint.
	Adjoint(ctx context.Context, dst, v *mat.Dense) error
	// HasAdjoint reports whether Adjoint is available.
	HasAdjoint() bool
	// ForwardBatch is Forward as a part of the current round: it counts the evaluations but
	// not a sequential round (the caller adds the round with AddSequential). Algorithms that
	// evaluate more points than fit in memory at once (GSG queries, DPG's Monte Carlo samples)
	// pass them chunk by chunk.
	ForwardBatch(ctx context.Context, dst, x *mat.Dense) error
	// Denoise writes D(x_i; σ) into row i of dst (counts one denoiser evaluation per row).
	Denoise(ctx context.Context, d diffusion.Denoiser, dst, x *mat.Dense, sigma float64) error
	// DenoiseVJP writes J_D(x_i; σ)ᵀ·v_i into row i of dst, the vector–Jacobian product of
	// the denoiser (what automatic differentiation computes in gradient-based guidance).
	DenoiseVJP(ctx context.Context, d VJPDenoiser, dst, x, v *mat.Dense, sigma float64) error
	// AddSequential adds n rounds to the sequential forward count (for algorithms whose
	// critical path ForwardBatch cannot know).
	AddSequential(n int64)
	// Workers is the number of concurrent workers (size of per-worker scratch arrays).
	Workers() int
	// InputDim and OutputDim are the forward model's dimensions.
	InputDim() int
	OutputDim() int
	// Counts returns the evaluations so far.
	Counts() Counts
}

// Counts are the evaluation counts of a run: the cost columns of the EnKG paper's tables.
type Counts struct {
	// Forward is the total number of forward-model evaluations G(x) (one per member).
	Forward int64 `json:"forward"`
	// Sequential is the number of forward-model evaluations on the critical path, that is,
	// rounds that cannot run in parallel when every member has its own simulator.
	Sequential int64 `json:"forward_sequential"`
	// Adjoint is the number of adjoint applications Aᵀv (DPS only).
	Adjoint int64 `json:"adjoint"`
	// Denoiser is the number of denoiser evaluations D(x; σ) of a single field.
	Denoiser int64 `json:"denoiser"`
	// DenoiserVJP is the number of vector–Jacobian products of the denoiser (gradient-based
	// baselines: DPS, GSG, DPG).
	DenoiserVJP int64 `json:"denoiser_vjp"`
	// Failed is the number of forward-model evaluations that failed (an error or a non-finite
	// output; included in Forward). With FailResample their members were redrawn.
	Failed int64 `json:"forward_failed"`
}

// Add returns the sum of c and d (the counts of a resumed run: those of the checkpoint plus
// the new evaluations).
func (c Counts) Add(d Counts) Counts {
	return Counts{Forward: c.Forward + d.Forward, Sequential: c.Sequential + d.Sequential, Adjoint: c.Adjoint + d.Adjoint,
		Denoiser: c.Denoiser + d.Denoiser, DenoiserVJP: c.DenoiserVJP + d.DenoiserVJP, Failed: c.Failed + d.Failed}
}

// ErrNoAdjoint is returned by Engine.Adjoint when the forward model is not linear with an
// adjoint (operator.Adjointer).
var ErrNoAdjoint = errors.New("forward model has no adjoint (does not implement operator.Adjointer)")

// MemberError reports the failure of one ensemble member: a failed or non-finite forward
// solve or denoiser evaluation. Algorithms fill Step with the sampling step (−1 if none).
type MemberError struct {
	Step   int    // sampling step (or EKI iteration); −1 when unknown
	Member int    // ensemble member (row)
	What   string // what was evaluated, e.g. "forward model"
	Err    error
}

func (e *MemberError) Error() string {
	if e.Step >= 0 {
		return fmt.Sprintf("step %d, member %d: %s: %v", e.Step, e.Member, e.What, e.Err)
	}
	return fmt.Sprintf("member %d: %s: %v", e.Member, e.What, e.Err)
}

func (e *MemberError) Unwrap() error { return e.Err }

// atStep sets the step of a *MemberError inside err (if any) and returns err.
func atStep(err error, step int) error {
	var me *MemberError
	if errors.As(err, &me) && me.Step < 0 {
		me.Step = step
	}
	return err
}

// Local is the Engine of a bounded pool of goroutines on this machine (Pool: one
// forward-model instance per worker, from an operator.Factory, so plans and solver
// workspaces are never shared), counted (Counted), with the model's adjoint or Jacobian
// transpose when it has one. Cancelling the context stops new member evaluations promptly
// and returns ctx.Err().
type Local struct {
	*Counted
	pool *Pool
}

// NewLocal returns a local engine with the given number of workers (GOMAXPROCS if ≤ 0),
// calling f once per worker. All instances must agree on their dimensions.
func NewLocal(f operator.Factory, workers int) (*Local, error) {
	pool, err := NewPool(f, workers)
	if err != nil {
		return nil, err
	}
	return &Local{Counted: NewCounted(pool, pool.Workers()), pool: pool}, nil
}

// HasAdjoint reports whether the forward model implements operator.Adjointer.
func (l *Local) HasAdjoint() bool {
	_, ok := l.pool.ops[0].(operator.Adjointer)
	return ok
}

// Adjoint applies Aᵀ to every row of v.
func (l *Local) Adjoint(ctx context.Context, dst, v *mat.Dense) error {
	if _, ok := l.pool.ops[0].(operator.Adjointer); !ok {
		return ErrNoAdjoint
	}
	r, c := v.Dims()
	rd, cd := dst.Dims()
	if c != l.out || rd != r || cd != l.in {
		return fmt.Errorf("guidance: adjoint of %d×%d into %d×%d, model %d → %d: %w", r, c, rd, cd, l.in, l.out, operator.ErrDim)
	}
	return parallel.For(ctx, r, l.pool.workers, func(w, i int) error {
		l.adjoint.Add(1)
		if err := l.pool.ops[w].(operator.Adjointer).Adjoint(dst.RawRowView(i), v.RawRowView(i)); err != nil {
			return &MemberError{Step: -1, Member: i, What: "adjoint", Err: err}
		}
		return nil
	})
}

// VJPEngine is an Engine that also applies the transposed Jacobian of the forward model at
// each member, J_G(x_i)ᵀ·v_i: the adjoint for linear models (operator.Adjointer) and
// operator.VJPer for nonlinear ones (phase retrieval). DPS with exact gradients uses it when
// the model has no adjoint. Local implements it.
type VJPEngine interface {
	// VJP writes J_G(x_i)ᵀ·v_i into row i of dst (counted as one adjoint application per row).
	VJP(ctx context.Context, dst, x, v *mat.Dense) error
	// HasVJP reports whether VJP is available.
	HasVJP() bool
}

// hasGradient reports whether eng can apply Aᵀ (Adjoint) or J_Gᵀ (VJPEngine).
func hasGradient(eng Engine) bool {
	if eng.HasAdjoint() {
		return true
	}
	ve, ok := eng.(VJPEngine)
	return ok && ve.HasVJP()
}

// HasVJP reports whether the forward model implements operator.Adjointer or operator.VJPer.
func (l *Local) HasVJP() bool {
	switch l.pool.ops[0].(type) {
	case operator.Adjointer, operator.VJPer:
		return true
	}
	return false
}

// VJP applies J_G(x_i)ᵀ to row i of v: the adjoint of a linear model (x unused) or
// operator.VJPer.
func (l *Local) VJP(ctx context.Context, dst, x, v *mat.Dense) error {
	if _, ok := l.pool.ops[0].(operator.Adjointer); ok {
		return l.Adjoint(ctx, dst, v)
	}
	if _, ok := l.pool.ops[0].(operator.VJPer); !ok {
		return fmt.Errorf("guidance: %w (nor operator.VJPer)", ErrNoAdjoint)
	}
	r, c := v.Dims()
	rd, cd := dst.Dims()
	rx, cx := x.Dims()
	if c != l.out || rd != r || cd != l.in || rx != r || cx != l.in {
		return fmt.Errorf("guidance: VJP of %d×%d at %d×%d into %d×%d, model %d → %d: %w", r, c, rx, cx, rd, cd, l.in, l.out, operator.ErrDim)
	}
	return parallel.For(ctx, r, l.pool.workers, func(w, i int) error {
		l.adjoint.Add(1)
		if err := l.pool.ops[w].(operator.VJPer).VJP(dst.RawRowView(i), x.RawRowView(i), v.RawRowView(i)); err != nil {
			return &MemberError{Step: -1, Member: i, What: "Jacobian-transpose product", Err: err}
		}
		return nil
	})
}

// Denoise evaluates d on every row of x and checks the result is finite.
func (l *Counted) Denoise(ctx context.Context, d diffusion.Denoiser, dst, x *mat.Dense, sigma float64) error {
	r, _ := x.Dims()
	l.denoise.Add(int64(r))
	if err := d.Denoise(ctx, dst, x, sigma); err != nil {
		return fmt.Errorf("denoiser at σ = %g: %w", sigma, err)
	}
	return checkRowsFinite(dst, "denoiser output")
}

// checkRowsFinite returns a *MemberError naming the first row of a with a NaN or ±Inf.
func checkRowsFinite(a *mat.Dense, what string) error {
	r, _ := a.Dims()
	for i := 0; i < r; i++ {
		for _, v := range a.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return &MemberError{Step: -1, Member: i, What: what, Err: fmt.Errorf("value %v: %w", v, operator.ErrNonFinite)}
			}
		}
	}
	return nil
}

// DenoiseVJP evaluates the denoiser's vector–Jacobian product on every row.
func (l *Counted) DenoiseVJP(ctx context.Context, d VJPDenoiser, dst, x, v *mat.Dense, sigma float64) error {
	r, _ := x.Dims()
	l.vjp.Add(int64(r))
	if err := d.DenoiseVJP(ctx, dst, x, v, sigma); err != nil {
		return fmt.Errorf("denoiser vector–Jacobian product at σ = %g: %w", sigma, err)
	}
	return checkRowsFinite(dst, "denoiser vector–Jacobian product")
}

// engineDenoiser is the diffusion.Denoiser d evaluated through (and counted by) an engine.
type engineDenoiser struct {
	eng Engine
	d   diffusion.Denoiser
}

func (e engineDenoiser) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	return e.eng.Denoise(ctx, e.d, dst, x, sigma)
}

func (e engineDenoiser) Dim() int { return e.d.Dim() }
