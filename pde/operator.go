package pde

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/operator"
)

// OperatorSettings configures the Navier–Stokes forward operator. Zero values select the
// documented defaults, those of the EnKG Navier–Stokes problem.
type OperatorSettings struct {
	// Nx, Ny are the grid sizes of the input field. Zero means 128.
	Nx, Ny int
	// Scale converts the normalised input to vorticity, w0 = Scale·x. Zero means 10.
	Scale float64
	// T is the final time. Zero means 1; negative is an error.
	T float64
	// Stride keeps every Stride-th grid point along both axes of the solution (numpy
	// y[::s, ::s]). Zero means 2; 1 keeps the full field.
	Stride int
	// Solver holds the solver settings; nil means DefaultSettings() (Re = 200, 2π-periodic
	// square, Kolmogorov forcing, adaptive steps).
	Solver *Settings
}

// Operator is the Navier–Stokes forward model of the EnKG paper,
//
//	G(x) = S(Φ_T(Scale·x)),
//
// with Φ_T the vorticity solve to time T and S the subsampling y[::s, ::s]. Its input is
// a normalised field of length Nx·Ny, its output has length ⌈Nx/s⌉·⌈Ny/s⌉ (row-major).
// It satisfies operator.Operator and must be used by one goroutine at a time (use
// OperatorFactory to give each worker its own instance).
//
// The published operator (ForwardNavierStokes2d) runs in float32 and returns float32; this
// one computes and returns float64, equal to the published float64 solver.
type Operator struct {
	set      OperatorSettings
	solver   *Solver
	w0, w    []float64
	nox, noy int
}

var _ operator.Operator = (*Operator)(nil)

// DefaultOperatorSettings returns the settings of the EnKG Navier–Stokes problem:
// 128×128, Scale 10, T = 1, Re = 200, stride 2.
func DefaultOperatorSettings() OperatorSettings {
	s := DefaultSettings()
	return OperatorSettings{Nx: 128, Ny: 128, Scale: 10, T: 1, Stride: 2, Solver: &s}
}

func (o *OperatorSettings) resolve() error {
	if o.Nx == 0 {
		o.Nx = 128
	}
	if o.Ny == 0 {
		o.Ny = 128
	}
	if o.Scale == 0 {
		o.Scale = 10
	}
	if o.T == 0 {
		o.T = 1
	}
	if o.Stride == 0 {
		o.Stride = 2
	}
	if math.IsNaN(o.Scale) || math.IsInf(o.Scale, 0) {
		return fmt.Errorf("pde: operator scale %v must be finite: %w", o.Scale, ErrInput)
	}
	if !(o.T > 0) || math.IsInf(o.T, 0) {
		return fmt.Errorf("pde: operator final time T = %v must be positive and finite: %w", o.T, ErrInput)
	}
	if o.Stride < 1 {
		return fmt.Errorf("pde: operator stride %d must be ≥ 1: %w", o.Stride, ErrInput)
	}
	if o.Solver == nil {
		s := DefaultSettings()
		o.Solver = &s
	}
	return nil
}

// NewOperator returns the forward operator with settings s.
func NewOperator(s OperatorSettings) (*Operator, error) {
	if err := s.resolve(); err != nil {
		return nil, err
	}
	sv, err := NewSolver(s.Nx, s.Ny, s.Solver)
	if err != nil {
		return nil, err
	}
	st := s.Stride
	return &Operator{
		set: s, solver: sv,
		w0: make([]float64, s.Nx*s.Ny), w: make([]float64, s.Nx*s.Ny),
		nox: (s.Nx + st - 1) / st, noy: (s.Ny + st - 1) / st,
	}, nil
}

// OperatorFactory returns an operator.Factory building independent operators with settings
// s; it checks s once, so that errors surface before an ensemble starts.
func OperatorFactory(s OperatorSettings) (operator.Factory, error) {
	if _, err := NewOperator(s); err != nil {
		return nil, err
	}
	return func() (operator.Operator, error) { return NewOperator(s) }, nil
}

// Settings returns the resolved settings (defaults filled in).
func (o *Operator) Settings() OperatorSettings { return o.set }

// InputDim returns Nx·Ny.
func (o *Operator) InputDim() int { return o.set.Nx * o.set.Ny }

// OutputDim returns ⌈Nx/s⌉·⌈Ny/s⌉.
func (o *Operator) OutputDim() int { return o.nox * o.noy }

// OutputShape returns (⌈Nx/s⌉, ⌈Ny/s⌉).
func (o *Operator) OutputShape() (int, int) { return o.nox, o.noy }

// Solver returns the operator's solver (for its Stats after a Forward call).
func (o *Operator) Solver() *Solver { return o.solver }

// Forward writes G(x) into dst. It returns an error wrapping operator.ErrDim for wrong
// lengths, operator.ErrNonFinite for a non-finite x, ErrBlowUp when the solve blows up,
// ErrStepCap when it would pass Settings.MaxSteps, and ctx.Err() on cancellation.
func (o *Operator) Forward(ctx context.Context, dst, x []float64) error {
	if err := operator.CheckDims(o, dst, x); err != nil {
		return fmt.Errorf("pde: %w", err)
	}
	if err := operator.CheckFinite("pde: operator input", x); err != nil {
		return err
	}
	for i, v := range x {
		o.w0[i] = o.set.Scale * v
	}
	if err := o.solver.Solve(ctx, o.w, o.w0, o.set.T); err != nil {
		return err
	}
	st, ny := o.set.Stride, o.set.Ny
	k := 0
	for i := 0; i < o.set.Nx; i += st {
		row := o.w[i*ny : (i+1)*ny]
		for j := 0; j < ny; j += st {
			dst[k] = row[j]
			k++
		}
	}
	return nil
}
