package problem_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/problem"
)

// TestResumeThroughProblem: a solve interrupted after 3 steps, with its checkpoint in a
// directory, resumes (with other workers) to the physical ensemble of an uninterrupted solve;
// the checkpoint of another configuration is refused, and one of another worker count is
// accepted.
func TestResumeThroughProblem(t *testing.T) {
	for _, name := range []string{"enkg", "eki"} {
		p := build(t, linCfg, "algorithm.name="+name, "workers=2")
		m, err := p.Config.Method()
		if err != nil {
			t.Fatal(err)
		}
		ref, err := p.Run(context.Background(), m, guidance.Options{})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		save, err := p.Config.Checkpointer(dir)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		rec := guidance.RecorderFunc(func(s guidance.StepInfo) error {
			if s.Step == 2 {
				cancel()
			}
			return nil
		})
		if _, err := p.Run(ctx, m, guidance.Options{Recorder: rec, Checkpoint: save}); !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: interrupted run: %v", name, err)
		}
		cancel()
		q := build(t, linCfg, "algorithm.name="+name, "workers=1")
		cp, note, err := q.Config.LoadCheckpoint(dir)
		if err != nil || cp == nil || cp.Step != 3 {
			t.Fatalf("%s: checkpoint %+v, %v", name, cp, err)
		}
		if note != "" {
			t.Errorf("same program, note %q", note)
		}
		res, err := q.Run(context.Background(), m, guidance.Options{Workers: 1, Resume: cp})
		if err != nil {
			t.Fatal(err)
		}
		if !mat.Equal(res.Ensemble, ref.Ensemble) || res.Counts != ref.Counts || res.Metrics["rel_l2"] != ref.Metrics["rel_l2"] {
			t.Errorf("%s: resumed result differs from the uninterrupted one", name)
		}
		other := build(t, linCfg, "algorithm.name="+name, "seed=9")
		if _, _, err := other.Config.LoadCheckpoint(dir); !errors.Is(err, problem.ErrCheckpoint) {
			t.Errorf("%s: checkpoint of another seed: %v", name, err)
		}
		if err := problem.RemoveCheckpoint(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, problem.CheckpointFile)); !os.IsNotExist(err) {
			t.Errorf("checkpoint not removed: %v", err)
		}
		if cp, _, err := q.Config.LoadCheckpoint(dir); cp != nil || err != nil {
			t.Errorf("no checkpoint: %v, %v", cp, err)
		}
	}
}

// TestOnMemberFailureKey: algorithm.on_member_failure selects the guidance policy of enkg
// and eki; resample is refused for the other methods, and unknown values are errors.
func TestOnMemberFailureKey(t *testing.T) {
	for _, c := range []struct {
		sets []string
		want string // error substring, "" for none
	}{
		{[]string{"algorithm.on_member_failure=resample"}, ""},
		{[]string{"algorithm.on_member_failure=resample", "algorithm.name=eki"}, ""},
		{[]string{"algorithm.on_member_failure=error", "algorithm.name=dps"}, ""},
		{[]string{"algorithm.on_member_failure=resample", "algorithm.name=dps"}, "for enkg and eki"},
		{[]string{"algorithm.on_member_failure=ignore"}, "want error or resample"},
	} {
		cfg, err := problem.Parse(linCfg, c.sets...)
		if err != nil {
			t.Fatal(err)
		}
		m, err := cfg.Method()
		if c.want != "" {
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, problem.ErrConfig) {
				t.Errorf("%v: err = %v, want %q", c.sets, err, c.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", c.sets, err)
		}
		want := guidance.FailError
		if strings.HasSuffix(c.sets[0], "resample") {
			want = guidance.FailResample
		}
		switch m := m.(type) {
		case *guidance.EnKG:
			if m.Settings().OnMemberFailure != want {
				t.Errorf("%v: EnKG policy %v", c.sets, m.Settings().OnMemberFailure)
			}
		case *guidance.EKI:
			if cfg.EKISettings().OnMemberFailure != want {
				t.Errorf("%v: EKI policy %v", c.sets, cfg.EKISettings().OnMemberFailure)
			}
		}
	}
}
