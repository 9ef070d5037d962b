package guidance

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// wireEvaluator stands in for a remote backend: every batch is split into chunks of random
// sizes, each chunk is encoded to bytes (little-endian float64, as a message would be),
// evaluated on its own goroutine with its own model instance, decoded, and the chunks
// complete in any order.
type wireEvaluator struct {
	f       operator.Factory
	in, out int
	mu      sync.Mutex
	r       *rand.Rand
}

func newWireEvaluator(f operator.Factory) *wireEvaluator {
	op, _ := f()
	return &wireEvaluator{f: f, in: op.InputDim(), out: op.OutputDim(), r: rand.New(rand.NewPCG(1, 2))}
}

func (e *wireEvaluator) InputDim() int  { return e.in }
func (e *wireEvaluator) OutputDim() int { return e.out }

func encode(rows [][]float64) []byte {
	var b []byte
	for _, r := range rows {
		for _, v := range r {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

func decode(b []byte, dst []float64) {
	for i := range dst {
		dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
}

func (e *wireEvaluator) Forward(ctx context.Context, dst, x *mat.Dense, errs []error) error {
	n, _ := x.Dims()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	firstRow := n
	for lo := 0; lo < n; {
		e.mu.Lock()
		hi := min(n, lo+1+e.r.IntN(5))
		e.mu.Unlock()
		msg := make([][]float64, 0, hi-lo)
		for i := lo; i < hi; i++ {
			msg = append(msg, x.RawRowView(i))
		}
		wg.Add(1)
		go func(lo, hi int, req []byte) {
			defer wg.Done()
			op, err := e.f()
			if err != nil {
				panic(err)
			}
			xi, yi := make([]float64, e.in), make([]float64, e.out)
			for i := lo; i < hi; i++ {
				decode(req[8*e.in*(i-lo):], xi)
				err := op.Forward(ctx, yi, xi)
				if err == nil {
					err = operator.CheckFinite("output", yi)
				}
				reply := encode([][]float64{yi})
				decode(reply, dst.RawRowView(i))
				if err != nil {
					me := &MemberError{Step: -1, Member: i, What: "forward model", Err: err}
					mu.Lock()
					if errs != nil {
						errs[i] = me
					} else if i < firstRow {
						first, firstRow = me, i
					}
					mu.Unlock()
				} else if errs != nil {
					errs[i] = nil
				}
			}
		}(lo, hi, encode(msg))
		lo = hi
	}
	wg.Wait()
	return first
}

// TestEvaluatorBackend: EnKG, EKI, forward- and central-GSG and DPG through an Evaluator that
// splits, serialises and reorders batches give the ensembles and counts of the local engine
// bit for bit (also with failing members redrawn); DPS, which needs the model's adjoint, is
// refused with a clear error.
func TestEvaluatorBackend(t *testing.T) {
	p, _ := nonlinearProblem(32, 7)
	lg := newLinGauss(16, 6, 1, 0.1, 2)
	ds := DefaultDPSSettings()
	ds.Members, ds.Schedule, ds.Queries, ds.BatchSize, ds.Gradient = 3, smallSchedule(6), 16, 5, ForwardGSG
	fgsg, _ := NewDPS(ds)
	ds.Gradient = CentralGSG
	cgsg, _ := NewDPS(ds)
	dpg, _ := NewDPG(DPGSettings{Members: 3, Schedule: smallSchedule(6), Scale: 1, MCSamples: 16, BatchSize: 4, Beta: 0.1})
	type run struct {
		p *Problem
		m Method
	}
	runs := []run{{lg.p, fgsg}, {lg.p, cgsg}, {lg.p, dpg}}
	for _, m := range resumeMethods(t, FailError) {
		runs = append(runs, run{p, m})
	}
	for _, m := range resumeMethods(t, FailResample) {
		runs = append(runs, run{flakyProblem(0.1), m})
	}
	for _, r := range runs {
		ref, err := Solve(context.Background(), r.p, r.m, Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Solve(context.Background(), r.p, r.m, Options{Workers: 3, Evaluator: newWireEvaluator(r.p.Forward)})
		if err != nil {
			t.Fatal(err)
		}
		if !mat.Equal(got.Ensemble, ref.Ensemble) || got.Counts != ref.Counts {
			t.Errorf("%s: through the evaluator: counts %+v, local %+v, ensembles equal %v", r.m.Name(), got.Counts, ref.Counts,
				mat.Equal(got.Ensemble, ref.Ensemble))
		}
	}
	ds.Gradient = Exact
	dps, _ := NewDPS(ds)
	_, err := Solve(context.Background(), lg.p, dps, Options{Evaluator: newWireEvaluator(lg.p.Forward)})
	if err == nil || !strings.Contains(err.Error(), "adjoint") {
		t.Errorf("DPS without gradients: %v", err)
	}
	// A failing member through the evaluator names its member, also for a GSG query.
	q := flakyProblem(1)
	_, err = Solve(context.Background(), q, resumeMethods(t, FailError)[0], Options{Evaluator: newWireEvaluator(q.Forward)})
	var me *MemberError
	if !errors.As(err, &me) || me.Member != 0 {
		t.Errorf("failure through the evaluator: %v", err)
	}
}
