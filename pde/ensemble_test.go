package pde

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
)

// stack64 builds m different 64×64 initial fields from the reference GRF sample (shifted and
// scaled copies, so that members need different adaptive steps).
func stack64(t testing.TB, m int) []float64 {
	in := load(t, "b_seed100_w0.npy").Data
	n := len(in)
	out := make([]float64, m*n)
	for k := 0; k < m; k++ {
		scale := 4 + 0.7*float64(k)
		for i := 0; i < 64; i++ {
			for j := 0; j < 64; j++ {
				out[k*n+i*64+j] = scale * in[((i+3*k)%64)*64+(j+5*k)%64]
			}
		}
	}
	return out
}

// TestEnsembleWorkersBitIdentical: results do not depend on the number of workers, and each
// member equals a single-field solve of that member (members do not share a time step).
func TestEnsembleWorkersBitIdentical(t *testing.T) {
	const m, T = 6, 0.3
	w0 := stack64(t, m)
	var ref []float64
	var refSteps []int
	for _, workers := range []int{1, 2, 4} {
		e, err := NewEnsemble(64, 64, nil, workers)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, len(w0))
		if err := e.Solve(context.Background(), got, w0, T); err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref, refSteps = got, append([]int(nil), e.Steps()...)
			continue
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(ref[i]) {
				t.Fatalf("workers %d: element %d = %v, with 1 worker %v", workers, i, got[i], ref[i])
			}
		}
		for k, s := range e.Steps() {
			if s != refSteps[k] {
				t.Errorf("workers %d: member %d took %d steps, with 1 worker %d", workers, k, s, refSteps[k])
			}
		}
	}
	t.Logf("steps per member: %v", refSteps)
	distinct := map[int]bool{}
	for _, s := range refSteps {
		distinct[s] = true
	}
	if len(distinct) < 2 {
		t.Errorf("members all took %d steps: the test does not exercise independent step sizes", refSteps[0])
	}
	s, _ := NewSolver(64, 64, nil)
	one := make([]float64, 64*64)
	for k := 0; k < m; k++ {
		if err := s.Solve(context.Background(), one, w0[k*4096:(k+1)*4096], T); err != nil {
			t.Fatal(err)
		}
		for i := range one {
			if math.Float64bits(one[i]) != math.Float64bits(ref[k*4096+i]) {
				t.Fatalf("member %d differs from its single-field solve at %d", k, i)
			}
		}
	}
}

func TestEnsembleErrors(t *testing.T) {
	e, err := NewEnsemble(64, 64, &Settings{Re: 200, Dt: 5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewEnsemble(63, 64, nil, 2); !errors.Is(err, ErrInput) {
		t.Errorf("odd size: %v", err)
	}
	w0 := stack64(t, 3)
	dst := make([]float64, len(w0))
	if err := e.Solve(context.Background(), dst[:100], w0, 1); !errors.Is(err, ErrInput) {
		t.Errorf("length mismatch: %v", err)
	}
	if err := e.Solve(context.Background(), dst[:4000], w0[:4000], 1); !errors.Is(err, ErrInput) {
		t.Errorf("not a multiple: %v", err)
	}
	// Member 1 blows up first (in index order); members 0 and 2 are zero fields, which
	// only feel the forcing and stay finite with dt = 5 for a short time.
	for i := range w0 {
		if i/4096 != 1 {
			w0[i] = 0
		}
	}
	err = e.Solve(context.Background(), dst, w0, 200)
	if !errors.Is(err, ErrBlowUp) || !strings.Contains(err.Error(), "member 1") || !strings.Contains(err.Error(), "at t = ") {
		t.Errorf("blow-up: err = %v, want ErrBlowUp naming member 1 and the time", err)
	}
	t.Log(err)
	w0[4096*2+5] = math.NaN()
	if err := e.Solve(context.Background(), dst, w0, 0.1); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "member 2") {
		t.Errorf("NaN in member 2: err = %v", err)
	}
}

func TestEnsembleCancelAndProgress(t *testing.T) {
	w0 := stack64(t, 4)
	e, err := NewEnsemble(64, 64, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	var done atomic.Int32
	e.OnMemberDone = func(int) { done.Add(1) }
	dst := make([]float64, len(w0))
	if err := e.Solve(context.Background(), dst, w0, 0.05); err != nil {
		t.Fatal(err)
	}
	if done.Load() != 4 {
		t.Errorf("OnMemberDone called %d times, want 4", done.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Solve(ctx, dst, w0, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
