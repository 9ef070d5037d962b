package guidance

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// FailurePolicy says what EnKG and EKI do when the forward model fails on a member (returns
// an error, or a NaN or an infinity). The names follow EnsembleKalmanProcesses.jl's
// FailureHandler.
type FailurePolicy int

const (
	// FailError stops the run with a *MemberError naming the member and the step (default).
	FailError FailurePolicy = iota
	// FailResample is EnsembleKalmanProcesses.jl's SampleSuccGauss: the failed members leave
	// this update (its means, covariance C and step are those of the J_s successful members
	// alone), and afterwards each failed particle is redrawn from the Gaussian fitted to the
	// updated successful particles, N(x̄_s, C_s) with C_s their sample covariance (J_s − 1 in
	// the denominator). The draw is made in ensemble space,
	// x_f = x̄_s + Σ_k z_k (x_k − x̄_s)/√(J_s − 1), z ~ N(0, I_{J_s}), which has exactly that
	// distribution without forming the D×D covariance (EKP.jl adds a relative inflation of
	// √eps to make C_s positive definite; it is omitted here). z comes from the stream
	// rng.Stream(rng.Sub(Seed, "resample step/update"), f), so results do not depend on the
	// number of workers and a resumed run draws the same values. At least 2 members must
	// succeed. A run without failures is bit-identical to one with FailError.
	FailResample
)

// String returns "error" or "resample", the YAML names.
func (f FailurePolicy) String() string {
	switch f {
	case FailError:
		return "error"
	case FailResample:
		return "resample"
	}
	return fmt.Sprintf("FailurePolicy(%d)", int(f))
}

// ParseFailurePolicy parses "error" or "resample".
func ParseFailurePolicy(s string) (FailurePolicy, error) {
	switch s {
	case "error":
		return FailError, nil
	case "resample":
		return FailResample, nil
	}
	return FailError, fmt.Errorf("guidance: member failure policy %q (want error or resample)", s)
}

func (f FailurePolicy) validate() error {
	if f != FailError && f != FailResample {
		return fmt.Errorf("member failure policy %d (want FailError or FailResample)", int(f))
	}
	return nil
}

// MemberForwarder is an Engine that evaluates every member even when some fail, and reports
// the failures per member instead of stopping at the first (what FailResample needs).
// Counted (and so Local) implements it, for any Evaluator.
type MemberForwarder interface {
	// ForwardMembers writes G(x_i) into row i of dst for every row i of x (one sequential
	// round) and sets errs[i] to a *MemberError for each member whose evaluation failed or
	// gave a non-finite value (nil otherwise). It returns the number of failed members, and
	// an error only for what is not a member's failure (cancellation, dimensions).
	ForwardMembers(ctx context.Context, dst, x *mat.Dense, errs []error) (int, error)
}

// forwardTolerant evaluates y = G(x) under policy f: with FailError through eng.Forward (the
// first failure is an error), with FailResample through MemberForwarder (failures recorded
// in errs, counted in the return value).
func forwardTolerant(ctx context.Context, eng Engine, f FailurePolicy, y, x *mat.Dense, errs []error) (int, error) {
	if f != FailResample {
		return 0, eng.Forward(ctx, y, x)
	}
	mf, ok := eng.(MemberForwarder)
	if !ok {
		return 0, fmt.Errorf("guidance: on_member_failure resample needs an engine that reports failed members (MemberForwarder); %T does not", eng)
	}
	return mf.ForwardMembers(ctx, y, x, errs)
}

// survivors is the ensemble Kalman update restricted to the members whose forward
// evaluation succeeded (FailResample): their rows are gathered into compact matrices, updated
// with a Kalman workspace of their size, scattered back, and the failed rows redrawn.
type survivors struct {
	idx, failed []int
	xs, ys, es  *mat.Dense
	loss        []float64
}

// newSurvivors gathers the successful rows of x and y (errs[i] != nil marks a failure). It
// fails when fewer than 2 members succeeded.
func newSurvivors(x, y *mat.Dense, errs []error) (*survivors, error) {
	sv := &survivors{}
	var first error
	for i, e := range errs {
		if e == nil {
			sv.idx = append(sv.idx, i)
		} else {
			sv.failed = append(sv.failed, i)
			if first == nil {
				first = e
			}
		}
	}
	if len(sv.idx) < 2 {
		return nil, fmt.Errorf("%d of %d members failed; on_member_failure resample needs at least 2 that succeed: %w",
			len(sv.failed), len(errs), first)
	}
	_, d := x.Dims()
	_, m := y.Dims()
	n := len(sv.idx)
	sv.xs, sv.ys, sv.es = mat.NewDense(n, d, nil), mat.NewDense(n, m, nil), mat.NewDense(n, m, nil)
	sv.loss = make([]float64, n)
	for k, i := range sv.idx {
		copy(sv.xs.RawRowView(k), x.RawRowView(i))
		copy(sv.ys.RawRowView(k), y.RawRowView(i))
	}
	return sv, nil
}

// misfit fills the misfit gradients and statistics of the successful members.
func (sv *survivors) misfit(p *Problem, info *StepInfo) {
	misfitGradients(p, sv.es, sv.ys, sv.loss, info)
}

// update applies the ensemble Kalman update to the successful members.
func (sv *survivors) update(scale float64, loc Locality, radius float64) (KalmanStep, error) {
	n, d := sv.xs.Dims()
	_, m := sv.ys.Dims()
	kal, err := NewKalman(n, d, m)
	if err != nil {
		return KalmanStep{}, err
	}
	if err := kal.Localize(loc, radius); err != nil {
		return KalmanStep{}, err
	}
	step := kal.Update(sv.xs, sv.ys, sv.es, scale)
	if math.IsNaN(step.NormC) || math.IsInf(step.NormC, 0) {
		return step, errors.New("non-finite ensemble covariance ‖C‖_F")
	}
	return step, nil
}

// finish writes the (updated) successful rows back into x and redraws the failed rows from
// the Gaussian fitted to them, with the draws of seed (see FailResample).
func (sv *survivors) finish(x *mat.Dense, seed uint64) {
	for k, i := range sv.idx {
		copy(x.RawRowView(i), sv.xs.RawRowView(k))
	}
	resampleGaussian(x, sv.xs, sv.failed, seed)
}

// resampleGaussian overwrites rows rows of x with draws from N(x̄_s, C_s) fitted to the rows
// of xs (row f from rng.Stream(seed, f)).
func resampleGaussian(x, xs *mat.Dense, rows []int, seed uint64) {
	if len(rows) == 0 {
		return
	}
	n, d := xs.Dims()
	mean := make([]float64, d)
	for k := 0; k < n; k++ {
		for c, v := range xs.RawRowView(k) {
			mean[c] += v
		}
	}
	for c := range mean {
		mean[c] /= float64(n)
	}
	z := make([]float64, n)
	inv := 1 / math.Sqrt(float64(n-1))
	for _, f := range rows {
		rng.Normal(z, rng.Stream(seed, f))
		row := x.RawRowView(f)
		copy(row, mean)
		for k := 0; k < n; k++ {
			a := z[k] * inv
			for c, v := range xs.RawRowView(k) {
				row[c] += a * (v - mean[c])
			}
		}
	}
}

// resampleSeed is the seed of the redraws of update u of step i.
func resampleSeed(seed uint64, step, update int) uint64 {
	return rng.Sub(seed, fmt.Sprintf("resample %d/%d", step, update))
}
