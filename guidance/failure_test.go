package guidance

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"testing"

	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// flaky is the nonlinear test model failing at random: a member fails with probability
// rate, decided by a hash of (seed, the bits of its input) — so the failures depend only on
// the member's input, never on the worker that evaluates it. Half of the failures are
// errors, half a NaN in the output.
type flaky struct {
	nonlinear
	seed uint64
	rate float64
}

var errFlaky = errors.New("simulator crashed")

func (f *flaky) Forward(ctx context.Context, dst, x []float64) error {
	if err := f.nonlinear.Forward(ctx, dst, x); err != nil {
		return err
	}
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(f.seed >> (8 * i))
	}
	h.Write(b[:])
	for _, v := range x {
		u := math.Float64bits(v)
		for i := range b {
			b[i] = byte(u >> (8 * i))
		}
		h.Write(b[:])
	}
	s := h.Sum64()
	if float64(s>>11)/(1<<53) < f.rate {
		if s&1 == 0 {
			return errFlaky
		}
		dst[0] = math.Inf(1)
	}
	return nil
}

func flakyProblem(rate float64) *Problem {
	p, _ := nonlinearProblem(32, 7)
	p.Forward = func() (operator.Operator, error) {
		return &flaky{nonlinear: nonlinear{d: 32}, seed: 11, rate: rate}, nil
	}
	return p
}

// TestResampleFailedMembers: with FailResample a model that fails at random (10 % of the
// evaluations) does not stop EnKG or EKI; the failures are counted, the results are finite
// and bit-identical for 1, 2 and 4 workers, and with FailError the first failure is a
// *MemberError.
func TestResampleFailedMembers(t *testing.T) {
	p := flakyProblem(0.1)
	for _, m := range resumeMethods(t, FailResample) {
		var ref *Result
		for _, w := range []int{1, 2, 4} {
			var h History
			res, err := Solve(context.Background(), p, m, Options{Workers: w, Recorder: &h})
			if err != nil {
				t.Fatalf("%s, %d workers: %v", m.Name(), w, err)
			}
			failed := 0
			for _, s := range h.Steps {
				failed += s.Failed
			}
			if res.Counts.Failed == 0 || int64(failed) != res.Counts.Failed {
				t.Errorf("%s: %d failures counted, %d in the step diagnostics", m.Name(), res.Counts.Failed, failed)
			}
			for _, v := range res.Ensemble.RawMatrix().Data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: non-finite particle", m.Name())
				}
			}
			if ref == nil {
				ref = res
				t.Logf("%s: %d of %d forward evaluations failed", m.Name(), res.Counts.Failed, res.Counts.Forward)
				continue
			}
			if !mat.Equal(res.Ensemble, ref.Ensemble) || res.Counts != ref.Counts {
				t.Errorf("%s: %d workers differ from 1 worker (counts %+v, %+v)", m.Name(), w, res.Counts, ref.Counts)
			}
		}
	}
	for _, m := range resumeMethods(t, FailError) {
		_, err := Solve(context.Background(), p, m, Options{Workers: 2})
		var me *MemberError
		if !errors.As(err, &me) || !(errors.Is(err, errFlaky) || errors.Is(err, operator.ErrNonFinite)) {
			t.Errorf("%s with FailError: err = %v, want a *MemberError", m.Name(), err)
		}
	}
	// Everything fails: an error, not a division by zero.
	for _, m := range resumeMethods(t, FailResample) {
		if _, err := Solve(context.Background(), flakyProblem(1), m, Options{Workers: 2}); err == nil {
			t.Errorf("%s: every member failed and the run went on", m.Name())
		}
	}
}

// TestResampleWithoutFailuresIsUnchanged: FailResample on a model that never fails gives
// the FailError result bit for bit (the published algorithm is untouched).
func TestResampleWithoutFailuresIsUnchanged(t *testing.T) {
	p, _ := nonlinearProblem(32, 7)
	a, b := resumeMethods(t, FailError), resumeMethods(t, FailResample)
	for i := range a {
		ra, err := Solve(context.Background(), p, a[i], Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		rb, err := Solve(context.Background(), p, b[i], Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !mat.Equal(ra.Ensemble, rb.Ensemble) || ra.Counts != rb.Counts {
			t.Errorf("%s: FailResample without failures changed the result", a[i].Name())
		}
	}
}

// TestResumeWithFailures: the redraws are keyed by step, so a run with failures resumes
// bit-identically.
func TestResumeWithFailures(t *testing.T) {
	p := flakyProblem(0.1)
	for _, m := range resumeMethods(t, FailResample) {
		ref, err := Solve(context.Background(), p, m, Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		res, _, _ := interruptAndResume(t, p, m, 5, 1, 2)
		if !mat.Equal(res.Ensemble, ref.Ensemble) || res.Counts != ref.Counts {
			t.Errorf("%s: resumed run with failures differs (counts %+v, %+v)", m.Name(), res.Counts, ref.Counts)
		}
	}
}

// TestResampleGaussian: the redraws have the mean and covariance of the successful members.
func TestResampleGaussian(t *testing.T) {
	xs := mat.NewDense(4, 3, []float64{1, 0, 2, 3, 1, 2, -1, 2, 2, 1, 1, 6})
	const n = 40000
	x := mat.NewDense(n, 3, nil)
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	resampleGaussian(x, xs, rows, 3)
	var wantMean, gotMean mat.VecDense
	ones := mat.NewVecDense(4, []float64{0.25, 0.25, 0.25, 0.25})
	wantMean.MulVec(xs.T(), ones)
	on := make([]float64, n)
	for i := range on {
		on[i] = 1.0 / n
	}
	gotMean.MulVec(x.T(), mat.NewVecDense(n, on))
	cov := func(a *mat.Dense, mean *mat.VecDense, den float64) *mat.Dense {
		r, c := a.Dims()
		ctr := mat.NewDense(r, c, nil)
		for i := 0; i < r; i++ {
			for k := 0; k < c; k++ {
				ctr.Set(i, k, a.At(i, k)-mean.AtVec(k))
			}
		}
		var s mat.Dense
		s.Mul(ctr.T(), ctr)
		s.Scale(1/den, &s)
		return &s
	}
	wantCov, gotCov := cov(xs, &wantMean, 3), cov(x, &gotMean, n-1)
	for k := 0; k < 3; k++ {
		if d := math.Abs(gotMean.AtVec(k) - wantMean.AtVec(k)); d > 0.03 {
			t.Errorf("mean[%d] = %.4f, want %.4f", k, gotMean.AtVec(k), wantMean.AtVec(k))
		}
		for l := 0; l < 3; l++ {
			if d := math.Abs(gotCov.At(k, l) - wantCov.At(k, l)); d > 0.05*(1+math.Abs(wantCov.At(k, l))) {
				t.Errorf("cov[%d,%d] = %.4f, want %.4f", k, l, gotCov.At(k, l), wantCov.At(k, l))
			}
		}
	}
}
