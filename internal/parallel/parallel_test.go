package parallel

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestForVisitsEachIndexOnce(t *testing.T) {
	for _, w := range []int{1, 2, 4, 0} {
		counts := make([]atomic.Int32, 1000)
		err := For(context.Background(), len(counts), w, func(worker, i int) error {
			if worker < 0 || worker >= Workers(w) {
				t.Errorf("worker %d out of range", worker)
			}
			counts[i].Add(1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("workers %d: index %d visited %d times", w, i, c)
			}
		}
	}
}

func TestForErrorAndCancel(t *testing.T) {
	bad := errors.New("bad")
	err := For(context.Background(), 100, 4, func(_, i int) error {
		if i == 17 {
			return bad
		}
		return nil
	})
	if !errors.Is(err, bad) {
		t.Errorf("err = %v, want bad", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := For(ctx, 10, 2, func(_, _ int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}
