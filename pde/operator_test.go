package pde

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/enkg-go/enkg/operator"
)

// TestOperatorReference: the default operator on x/10 reproduces a_seed*_y.npy (the float64
// published solver, subsampled [::2, ::2]) and the published float32 operator to float32
// accuracy.
//
// The published operator runs in float32 (ForwardNavierStokes2d, dtype=float32): every one
// of the ~1000 steps × 12 FFTs rounds at ε32 = 6e-8, and the chaotic-free but long solve
// amplifies that to a relative L2 difference of 2.2e-5 (seed 0) and 1.3e-5 (seed 1) between
// the float32 output and the float64 reference y (the float32 operator's forcing,
// torch.linspace in float32, differs as well). A float64 implementation cannot do better
// than that against the float32 file; 1e-4 (≈ 1700 ε32) is the float32-appropriate
// tolerance, while against the float64 reference the operator matches to 1e-12.
func TestOperatorReference(t *testing.T) {
	if testing.Short() {
		t.Skip("two 128² solves")
	}
	op, err := NewOperator(OperatorSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if op.InputDim() != 128*128 || op.OutputDim() != 64*64 {
		t.Fatalf("dims %d → %d", op.InputDim(), op.OutputDim())
	}
	for _, seed := range []string{"0", "1"} {
		x := load(t, "a_seed"+seed+"_x.npy").Data
		y := load(t, "a_seed"+seed+"_y.npy").Data
		y32 := load(t, "a_seed"+seed+"_y_op_f32.npy").Data
		xn := make([]float64, len(x))
		for i, v := range x {
			xn[i] = v / 10
		}
		got := make([]float64, op.OutputDim())
		if err := op.Forward(context.Background(), got, xn); err != nil {
			t.Fatal(err)
		}
		e64, e32 := relL2(got, y), relL2(got, y32)
		t.Logf("seed %s: %d steps; relative L2 vs float64 y %.3g, vs float32 operator %.3g", seed, op.Solver().Stats().Steps, e64, e32)
		if e64 > 1e-9 {
			t.Errorf("seed %s: relative L2 vs a_seed%s_y.npy %.3g > 1e-9", seed, seed, e64)
		}
		if e32 > 1e-4 {
			t.Errorf("seed %s: relative L2 vs the float32 operator %.3g > 1e-4", seed, e32)
		}
	}
}

func TestOperatorSubsampleAndFactory(t *testing.T) {
	in := load(t, "b_seed100_w0.npy").Data
	full := load(t, "b_seed100_yfull.npy").Data
	want := load(t, "b_seed100_y.npy").Data
	fac, err := OperatorFactory(OperatorSettings{Nx: 64, Ny: 64, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	var outs [][]float64
	for k := 0; k < 2; k++ {
		op, err := fac()
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float64, op.OutputDim())
		if err := op.Forward(context.Background(), y, in); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, y)
	}
	if e := relL2(outs[0], want); e > 1e-9 {
		t.Errorf("b_seed100_y: relative L2 %.3g", e)
	}
	for i := range outs[0] {
		if outs[0][i] != outs[1][i] {
			t.Fatal("two factory instances differ")
		}
	}
	// Stride 3 on 64 points keeps ⌈64/3⌉ = 22 per axis: indices 0, 3, …, 63.
	op, err := NewOperator(OperatorSettings{Nx: 64, Ny: 64, Scale: 1, Stride: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r, c := op.OutputShape(); r != 22 || c != 22 {
		t.Fatalf("stride 3 shape %d×%d", r, c)
	}
	y := make([]float64, op.OutputDim())
	if err := op.Forward(context.Background(), y, in); err != nil {
		t.Fatal(err)
	}
	for a := 0; a < 22; a++ {
		for b := 0; b < 22; b++ {
			if d := math.Abs(y[a*22+b] - full[3*a*64+3*b]); d > 1e-11 {
				t.Fatalf("stride 3: y[%d,%d] differs from yfull[%d,%d] by %.3g", a, b, 3*a, 3*b, d)
			}
		}
	}
}

func TestOperatorErrors(t *testing.T) {
	for _, s := range []OperatorSettings{
		{Nx: 63},
		{T: -1},
		{T: math.Inf(1)},
		{Stride: -2},
		{Scale: math.NaN()},
		{Solver: &Settings{Re: -5}},
	} {
		if _, err := NewOperator(s); !errors.Is(err, ErrInput) {
			t.Errorf("NewOperator(%+v): err = %v, want ErrInput", s, err)
		}
		if _, err := OperatorFactory(s); err == nil {
			t.Errorf("OperatorFactory(%+v): no error", s)
		}
	}
	op, err := NewOperator(OperatorSettings{Nx: 16, Ny: 16})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 256)
	if err := op.Forward(context.Background(), make([]float64, 63), x); !errors.Is(err, operator.ErrDim) {
		t.Errorf("short dst: %v", err)
	}
	if err := op.Forward(context.Background(), make([]float64, 64), x[:255]); !errors.Is(err, operator.ErrDim) {
		t.Errorf("short x: %v", err)
	}
	x[3] = math.Inf(1)
	if err := op.Forward(context.Background(), make([]float64, 64), x); !errors.Is(err, operator.ErrNonFinite) {
		t.Errorf("Inf input: %v", err)
	}
}
