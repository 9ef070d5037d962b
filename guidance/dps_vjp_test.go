package guidance

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// vjpOnly hides the Adjointer of a matrix operator and offers only VJP(dst, x, v) = Aᵀv.
type vjpOnly struct{ m *operator.Matrix }

func (o vjpOnly) InputDim() int  { return o.m.InputDim() }
func (o vjpOnly) OutputDim() int { return o.m.OutputDim() }
func (o vjpOnly) Forward(ctx context.Context, dst, x []float64) error {
	return o.m.Forward(ctx, dst, x)
}
func (o vjpOnly) VJP(dst, _, v []float64) error { return o.m.Adjoint(dst, v) }

// forwardOnly has neither an adjoint nor a VJP.
type forwardOnly struct{ m *operator.Matrix }

func (o forwardOnly) InputDim() int  { return o.m.InputDim() }
func (o forwardOnly) OutputDim() int { return o.m.OutputDim() }
func (o forwardOnly) Forward(ctx context.Context, dst, x []float64) error {
	return o.m.Forward(ctx, dst, x)
}

// square is G(x) = x ⊙ x with J_G(x)ᵀv = 2·x ⊙ v.
type square struct{ n int }

func (o square) InputDim() int  { return o.n }
func (o square) OutputDim() int { return o.n }
func (o square) Forward(_ context.Context, dst, x []float64) error {
	for i, v := range x {
		dst[i] = v * v
	}
	return nil
}
func (o square) VJP(dst, x, v []float64) error {
	for i := range dst {
		dst[i] = 2 * x[i] * v[i]
	}
	return nil
}

// TestDPSExactUsesVJPer: DPS with exact gradients on a model that offers only operator.VJPer
// gives the same ensemble, bit for bit, as on the same linear model through its adjoint, and
// counts the same number of Jacobian-transpose products.
func TestDPSExactUsesVJPer(t *testing.T) {
	lg := newLinGauss(8, 3, 1, 0.1, 11)
	run := func(f operator.Factory) *Result {
		s := DefaultDPSSettings()
		s.Gradient, s.Members, s.Scale, s.Seed = Exact, 3, 0.5, 4
		s.Schedule = Schedule{Kind: "vp", Steps: 20}
		m, err := NewDPS(s)
		if err != nil {
			t.Fatal(err)
		}
		p := *lg.p
		p.Forward = f
		res, err := Solve(context.Background(), &p, m, Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	adj := run(matrixFactory(lg.a))
	vjp := run(func() (operator.Operator, error) { return vjpOnly{lg.a}, nil })
	if !mat.Equal(adj.Ensemble, vjp.Ensemble) {
		t.Fatalf("VJPer path differs from the adjoint path: %v vs %v", vjp.Ensemble.RawRowView(0), adj.Ensemble.RawRowView(0))
	}
	if adj.Counts.Adjoint != vjp.Counts.Adjoint || vjp.Counts.Adjoint == 0 {
		t.Fatalf("adjoint counts %d (adjoint) vs %d (VJP)", adj.Counts.Adjoint, vjp.Counts.Adjoint)
	}
	// Neither: a clear error before any evaluation.
	s := DefaultDPSSettings()
	s.Gradient, s.Members = Exact, 2
	m, _ := NewDPS(s)
	p := *lg.p
	p.Forward = func() (operator.Operator, error) { return forwardOnly{lg.a}, nil }
	_, err := Solve(context.Background(), &p, m, Options{Workers: 1})
	if err == nil || !strings.Contains(err.Error(), "operator.VJPer") {
		t.Fatalf("forward-only model: err = %v, want a missing-gradient error", err)
	}
}

// TestLocalVJPNonlinear: Local.VJP applies J_G(x_i)ᵀ at each member's own point.
func TestLocalVJPNonlinear(t *testing.T) {
	eng, err := NewLocal(func() (operator.Operator, error) { return square{3}, nil }, 2)
	if err != nil {
		t.Fatal(err)
	}
	if eng.HasAdjoint() || !eng.HasVJP() {
		t.Fatalf("HasAdjoint %v, HasVJP %v", eng.HasAdjoint(), eng.HasVJP())
	}
	x := mat.NewDense(2, 3, []float64{1, 2, 3, -1, 0.5, 4})
	v := mat.NewDense(2, 3, []float64{1, 1, 1, 2, -2, 0.25})
	dst := mat.NewDense(2, 3, nil)
	if err := eng.VJP(context.Background(), dst, x, v); err != nil {
		t.Fatal(err)
	}
	want := []float64{2, 4, 6, -4, -2, 2}
	for i, w := range want {
		if got := dst.RawMatrix().Data[i]; math.Abs(got-w) > 1e-15 {
			t.Fatalf("VJP[%d] = %v, want %v", i, got, w)
		}
	}
	if c := eng.Counts().Adjoint; c != 2 {
		t.Fatalf("adjoint count %d, want 2", c)
	}
	if err := eng.VJP(context.Background(), mat.NewDense(2, 2, nil), x, v); !errors.Is(err, operator.ErrDim) {
		t.Fatalf("wrong dst shape: err = %v, want ErrDim", err)
	}
}

// BenchmarkLocalVJPvsAdjoint compares Local.VJP through operator.VJPer with Local.Adjoint on
// the same 256×1024 matrix model, for a 64-member ensemble (side by side in one run).
func BenchmarkLocalVJPvsAdjoint(b *testing.B) {
	a := mat.NewDense(256, 1024, nil)
	for i := range a.RawMatrix().Data {
		a.RawMatrix().Data[i] = float64(i%7) - 3
	}
	m, _ := operator.NewMatrix(a)
	x, v, dst := mat.NewDense(64, 1024, nil), mat.NewDense(64, 256, nil), mat.NewDense(64, 1024, nil)
	for _, c := range []struct {
		name string
		f    operator.Factory
	}{
		{"adjoint", matrixFactory(m)},
		{"vjp", func() (operator.Operator, error) { return vjpOnly{m}, nil }},
	} {
		eng, err := NewLocal(c.f, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := eng.VJP(context.Background(), dst, x, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
