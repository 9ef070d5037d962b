package guidance

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// nonlinear is a test forward model y_k = tanh(x_{2k}) + 0.1·x_{2k+1}²; it returns NaN for
// inputs whose first entry is exactly poison (if set) and sleeps delay per call.
type nonlinear struct {
	d      int
	poison *float64
	delay  time.Duration
	calls  *atomic.Int64
}

func (n *nonlinear) InputDim() int  { return n.d }
func (n *nonlinear) OutputDim() int { return n.d / 2 }
func (n *nonlinear) Forward(ctx context.Context, dst, x []float64) error {
	if err := operator.CheckDims(n, dst, x); err != nil {
		return err
	}
	if n.calls != nil {
		n.calls.Add(1)
	}
	if n.delay > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(n.delay):
		}
	}
	for k := range dst {
		dst[k] = math.Tanh(x[2*k]) + 0.1*x[2*k+1]*x[2*k+1]
	}
	if n.poison != nil && x[0] == *n.poison {
		dst[1] = math.NaN()
	}
	return nil
}

func nonlinearProblem(d int, seed uint64) (*Problem, *nonlinear) {
	op := &nonlinear{d: d}
	r := rand.New(rand.NewPCG(seed, 1))
	truth := make([]float64, d)
	for i := range truth {
		truth[i] = r.NormFloat64()
	}
	obs := make([]float64, d/2)
	_ = op.Forward(context.Background(), obs, truth)
	return &Problem{Observation: obs, Forward: func() (operator.Operator, error) { return &nonlinear{d: d}, nil },
		Prior: newDiagGauss(d, 0, 1), Sampler: newDiagGauss(d, 0, 1)}, op
}

func TestKalmanMatchesDefinitionAndDoesNotAllocate(t *testing.T) {
	const j, d, m = 7, 13, 5
	r := rand.New(rand.NewPCG(2, 3))
	fill := func(rows, cols int) *mat.Dense {
		a := mat.NewDense(rows, cols, nil)
		for i := 0; i < rows; i++ {
			for k := 0; k < cols; k++ {
				a.Set(i, k, r.NormFloat64())
			}
		}
		return a
	}
	x, y, e := fill(j, d), fill(j, m), fill(j, m)
	// Independent evaluation with explicit centring matrices: Xc = (I − 11ᵀ/J)X.
	ctr := mat.NewDense(j, j, nil)
	for a := 0; a < j; a++ {
		for b := 0; b < j; b++ {
			v := -1.0 / j
			if a == b {
				v += 1
			}
			ctr.Set(a, b, v)
		}
	}
	var xc, yc, c, delta mat.Dense
	xc.Mul(ctr, x)
	yc.Mul(ctr, y)
	c.Mul(e, yc.T())
	c.Scale(1.0/j, &c)
	delta.Mul(&c, &xc)
	norm := mat.Norm(&c, 2)
	want := mat.DenseCopyOf(x)
	want.Sub(want, scaled(0.7/norm, &delta))

	k, err := NewKalman(j, d, m)
	if err != nil {
		t.Fatal(err)
	}
	got := mat.DenseCopyOf(x)
	st := k.Update(got, y, e, 0.7)
	if math.Abs(st.NormC-norm) > 1e-13*norm || math.Abs(st.Step-0.7/norm) > 1e-13/norm {
		t.Errorf("step %+v, want ‖C‖ = %v", st, norm)
	}
	if !mat.EqualApprox(got, want, 1e-12) {
		t.Errorf("update differs from the definition")
	}
	// A constant factor in E (½ of the published loss gradient, 1/σ² of a noise model)
	// cancels in the normalised step.
	e3 := mat.DenseCopyOf(e)
	e3.Scale(3, e3)
	got3 := mat.DenseCopyOf(x)
	k.Update(got3, y, e3, 0.7)
	if !mat.EqualApprox(got3, got, 1e-12) {
		t.Errorf("scaling E changed the update")
	}
	// Zero allocations per update.
	if a := testing.AllocsPerRun(20, func() { k.Update(got, y, e, 0.7) }); a != 0 {
		t.Errorf("Update allocates %v times", a)
	}
	// C = 0 (identical predictions): no move, no NaN.
	same := mat.NewDense(j, m, nil)
	before := mat.DenseCopyOf(got)
	if st := k.Update(got, same, e, 1); st.Step != 0 || !mat.Equal(got, before) {
		t.Errorf("degenerate C: step %+v", st)
	}
	if _, err := NewKalman(1, d, m); err == nil {
		t.Error("J = 1 accepted")
	}
}

func scaled(f float64, a mat.Matrix) *mat.Dense {
	var s mat.Dense
	s.Scale(f, a)
	return &s
}

// TestResultsIndependentOfWorkers: EnKG and EKI give bit-identical ensembles on 1, 2, 4
// workers.
func TestResultsIndependentOfWorkers(t *testing.T) {
	p, _ := nonlinearProblem(32, 7)
	s := DefaultEnKGSettings()
	s.Members, s.Steps, s.Updates, s.Seed = 12, 12, 2, 5
	enkg, _ := NewEnKG(s)
	es := DefaultEKISettings()
	es.Members, es.Iterations, es.Seed = 12, 10, 5
	eki, _ := NewEKI(es)
	for _, m := range []Method{enkg, eki} {
		var ref *Result
		for _, w := range []int{1, 2, 4} {
			res, err := Solve(context.Background(), p, m, Options{Workers: w})
			if err != nil {
				t.Fatal(err)
			}
			if ref == nil {
				ref = res
				continue
			}
			if !mat.Equal(res.Ensemble, ref.Ensemble) {
				t.Errorf("%s: %d workers differ from 1 worker", m.Name(), w)
			}
			if res.Counts != ref.Counts {
				t.Errorf("%s: counts %+v with %d workers, %+v with 1", m.Name(), res.Counts, w, ref.Counts)
			}
		}
	}
}

func TestCancellationReturnsPartialState(t *testing.T) {
	p, _ := nonlinearProblem(16, 1)
	s := DefaultEnKGSettings()
	s.Members, s.Steps, s.Seed = 8, 40, 1
	m, _ := NewEnKG(s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := RecorderFunc(func(si StepInfo) error {
		if si.Step == 9 {
			cancel()
		}
		return nil
	})
	res, err := Solve(ctx, p, m, Options{Workers: 2, Recorder: rec})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res == nil || res.Steps != 10 {
		t.Fatalf("partial result %v, want 10 completed steps", res)
	}
	if r, c := res.Ensemble.Dims(); r != 8 || c != 16 {
		t.Errorf("partial ensemble %d×%d", r, c)
	}
	// A slow forward model: cancellation during an ensemble evaluation returns promptly.
	calls := &atomic.Int64{}
	p.Forward = func() (operator.Operator, error) {
		return &nonlinear{d: 16, delay: 20 * time.Millisecond, calls: calls}, nil
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	s.Members = 64
	m, _ = NewEnKG(s)
	t0 := time.Now()
	res, err = Solve(ctx2, p, m, Options{Workers: 2})
	if !errors.Is(err, context.DeadlineExceeded) || res == nil {
		t.Fatalf("err = %v, res = %v", err, res)
	}
	if el := time.Since(t0); el > 500*time.Millisecond {
		t.Errorf("cancellation took %v", el)
	}
}

func TestMemberFailureNamesMemberAndStep(t *testing.T) {
	p, _ := nonlinearProblem(16, 2)
	init := mat.NewDense(6, 16, nil)
	for i := 0; i < 6; i++ {
		for k := 0; k < 16; k++ {
			init.Set(i, k, float64(i+k)/10)
		}
	}
	poison := 0.3 // member 3's first entry
	p.Forward = func() (operator.Operator, error) { return &nonlinear{d: 16, poison: &poison}, nil }
	es := DefaultEKISettings()
	es.Members, es.Iterations, es.Init = 6, 3, init
	m, _ := NewEKI(es)
	_, err := Solve(context.Background(), p, m, Options{Workers: 2})
	var me *MemberError
	if !errors.As(err, &me) || me.Member != 3 || me.Step != 0 || !errors.Is(err, operator.ErrNonFinite) {
		t.Fatalf("err = %v, want member 3 at step 0 with ErrNonFinite", err)
	}
	if !strings.Contains(err.Error(), "member 3") || !strings.Contains(err.Error(), "step 0") {
		t.Errorf("message %q does not name member and step", err)
	}
}

func TestBadInput(t *testing.T) {
	p, _ := nonlinearProblem(16, 3)
	s := DefaultEnKGSettings()
	s.Members, s.Steps = 4, 6
	m, _ := NewEnKG(s)
	bad := *p
	bad.Observation = p.Observation[:5]
	if _, err := Solve(context.Background(), &bad, m, Options{}); !errors.Is(err, operator.ErrDim) {
		t.Errorf("short observation: err = %v", err)
	}
	bad = *p
	bad.Observation = append([]float64{math.NaN()}, p.Observation[1:]...)
	if _, err := Solve(context.Background(), &bad, m, Options{}); !errors.Is(err, operator.ErrNonFinite) {
		t.Errorf("NaN observation: err = %v", err)
	}
	bad = *p
	bad.Prior = newDiagGauss(8, 0, 1)
	if _, err := Solve(context.Background(), &bad, m, Options{}); !errors.Is(err, operator.ErrDim) {
		t.Errorf("prior of the wrong dimension: err = %v", err)
	}
	bad = *p
	bad.Prior = nil
	if _, err := Solve(context.Background(), &bad, m, Options{}); err == nil || !strings.Contains(err.Error(), "diffusion prior") {
		t.Errorf("missing prior: err = %v", err)
	}
	for name, mod := range map[string]func(*EnKGSettings){
		"J=1":         func(s *EnKGSettings) { s.Members = 1 },
		"N=1":         func(s *EnKGSettings) { s.Steps = 1 },
		"σmin>σmax":   func(s *EnKGSettings) { s.SigmaMin = 100 },
		"threshold 1": func(s *EnKGSettings) { s.ThresholdEnd = 1 },
		"NaN scale":   func(s *EnKGSettings) { s.Scale = math.NaN() },
		"r>1":         func(s *EnKGSettings) { s.LRMinRatio = 2 },
		"init rows":   func(s *EnKGSettings) { s.Init = mat.NewDense(3, 16, nil) },
	} {
		s := DefaultEnKGSettings()
		mod(&s)
		if _, err := NewEnKG(s); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := NewEKI(EKISettings{Members: 1, Iterations: 3, Scale: 1}); err == nil {
		t.Error("EKI with J = 1 accepted")
	}
}
