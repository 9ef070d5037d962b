package guidance

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// resumeMethods are EnKG (guided from the first step, 2 updates) and EKI on the nonlinear
// test problem.
func resumeMethods(t *testing.T, f FailurePolicy) []Resumable {
	t.Helper()
	s := DefaultEnKGSettings()
	s.Members, s.Steps, s.Updates, s.Seed, s.ThresholdStart, s.ThresholdEnd, s.OnMemberFailure = 12, 12, 2, 5, 0, 0.1, f
	enkg, err := NewEnKG(s)
	if err != nil {
		t.Fatal(err)
	}
	es := DefaultEKISettings()
	es.Members, es.Iterations, es.Seed, es.OnMemberFailure = 12, 10, 5, f
	eki, err := NewEKI(es)
	if err != nil {
		t.Fatal(err)
	}
	return []Resumable{enkg, eki}
}

// interruptAndResume runs m with checkpoints written to a file, cancels the run from the
// Recorder after step k, and resumes it from the file on a fresh engine with other
// workers. It returns the resumed result, the checkpoint and the forward evaluations made by
// the resumed session.
func interruptAndResume(t *testing.T, p *Problem, m Resumable, k, workers1, workers2 int) (*Result, *Checkpoint, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "checkpoint.npz")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	saves := 0
	rec := RecorderFunc(func(si StepInfo) error {
		if si.Step == k {
			cancel()
		}
		return nil
	})
	save := func(c *Checkpoint) error {
		saves++
		c.Meta = "test"
		return c.Save(path)
	}
	res, err := Solve(ctx, p, m, Options{Workers: workers1, Recorder: rec, Checkpoint: save})
	if !errors.Is(err, context.Canceled) || res == nil || res.Steps != k+1 || saves != k+1 {
		t.Fatalf("%s: interrupted run: err %v, steps %v, %d checkpoints; want canceled after %d", m.Name(), err, res, saves, k+1)
	}
	cp, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Step != k+1 || cp.Method != m.Name() || cp.Meta != "test" || cp.Done || !mat.Equal(cp.Ensemble, res.Ensemble) {
		t.Fatalf("%s: checkpoint %+v does not hold the interrupted state (%d steps)", m.Name(), cp, res.Steps)
	}
	calls := &atomic.Int64{}
	q := *p
	inner := p.Forward
	q.Forward = func() (operator.Operator, error) {
		op, err := inner()
		return countCalls{op, calls}, err
	}
	res2, err := Solve(context.Background(), &q, m, Options{Workers: workers2, Resume: cp, Checkpoint: func(*Checkpoint) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return res2, cp, calls.Load()
}

type countCalls struct {
	operator.Operator
	n *atomic.Int64
}

func (c countCalls) Forward(ctx context.Context, dst, x []float64) error {
	c.n.Add(1)
	return c.Operator.Forward(ctx, dst, x)
}

// TestResumeBitIdentical: a run interrupted after k steps and resumed from its checkpoint
// file (with another number of workers) ends with the ensemble and counts of an
// uninterrupted run, and the resumed session evaluates only the steps that were not done.
func TestResumeBitIdentical(t *testing.T) {
	p, _ := nonlinearProblem(32, 7)
	for _, m := range resumeMethods(t, FailError) {
		ref, err := Solve(context.Background(), p, m, Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		res, cp, calls := interruptAndResume(t, p, m, 4, 2, 3)
		if !mat.Equal(res.Ensemble, ref.Ensemble) {
			t.Errorf("%s: resumed ensemble differs from the uninterrupted run's", m.Name())
		}
		if res.Counts != ref.Counts || res.Steps != ref.Steps {
			t.Errorf("%s: resumed counts %+v, %d steps; uninterrupted %+v, %d", m.Name(), res.Counts, res.Steps, ref.Counts, ref.Steps)
		}
		if want := ref.Counts.Forward - cp.Counts.Forward; calls != want || cp.Counts.Forward == 0 {
			t.Errorf("%s: resumed session made %d forward evaluations, want %d (checkpoint had %d of %d)",
				m.Name(), calls, want, cp.Counts.Forward, ref.Counts.Forward)
		}
	}
}

// TestResumeFinishedAndMismatched: a final checkpoint returns its result without evaluating;
// a checkpoint of another method, length or ensemble size is refused, and so is
// checkpointing a method that cannot resume.
func TestResumeFinishedAndMismatched(t *testing.T) {
	p, _ := nonlinearProblem(32, 7)
	for _, m := range resumeMethods(t, FailError) {
		var last *Checkpoint
		ref, err := Solve(context.Background(), p, m, Options{Workers: 2, Checkpoint: func(c *Checkpoint) error {
			cc := *c
			cc.Ensemble = mat.DenseCopyOf(c.Ensemble)
			last = &cc
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if !last.Done || last.Step != ref.Steps || !mat.Equal(last.Ensemble, ref.Ensemble) {
			t.Fatalf("%s: last checkpoint %+v", m.Name(), last)
		}
		eng, _ := NewLocal(p.Forward, 2)
		res, err := Solve(context.Background(), p, m, Options{Engine: eng, Resume: last})
		if err != nil || !mat.Equal(res.Ensemble, ref.Ensemble) || res.Counts != ref.Counts || eng.Counts() != (Counts{}) {
			t.Errorf("%s: resuming a finished run: err %v, evaluations %+v", m.Name(), err, eng.Counts())
		}
		for name, mod := range map[string]func(*Checkpoint){
			"method": func(c *Checkpoint) { c.Method = "DPS" },
			"steps":  func(c *Checkpoint) { c.Steps++ },
			"step":   func(c *Checkpoint) { c.Step = c.Steps + 1 },
			"rows":   func(c *Checkpoint) { c.Ensemble = mat.NewDense(3, 32, nil) },
		} {
			bad := *last
			mod(&bad)
			if _, err := Solve(context.Background(), p, m, Options{Resume: &bad}); err == nil {
				t.Errorf("%s: checkpoint with another %s accepted", m.Name(), name)
			}
		}
	}
	ds := DefaultDPSSettings()
	ds.Schedule.Steps = 5
	dps, _ := NewDPS(ds)
	_, err := Solve(context.Background(), p, dps, Options{Checkpoint: func(*Checkpoint) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "cannot be checkpointed") {
		t.Errorf("DPS with checkpoints: %v", err)
	}
}
