package operator

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Matrix is the linear operator G(x) = A·x for a dense matrix A (rows = OutputDim).
// It is safe for concurrent use. It is mostly a test oracle: linear-Gaussian problems have
// closed-form posteriors.
type Matrix struct {
	a *mat.Dense
}

// NewMatrix returns the operator x ↦ A·x. A is not copied and must not be changed afterwards.
func NewMatrix(a *mat.Dense) (*Matrix, error) {
	if a == nil {
		return nil, fmt.Errorf("operator: nil matrix")
	}
	r, c := a.Dims()
	if r == 0 || c == 0 {
		return nil, fmt.Errorf("operator: empty %d×%d matrix: %w", r, c, ErrDim)
	}
	return &Matrix{a: a}, nil
}

// InputDim returns the number of columns of A.
func (m *Matrix) InputDim() int { _, c := m.a.Dims(); return c }

// OutputDim returns the number of rows of A.
func (m *Matrix) OutputDim() int { r, _ := m.a.Dims(); return r }

// Forward writes A·x into dst.
func (m *Matrix) Forward(_ context.Context, dst, x []float64) error {
	if err := CheckDims(m, dst, x); err != nil {
		return err
	}
	if err := CheckFinite("operator input", x); err != nil {
		return err
	}
	mat.NewVecDense(len(dst), dst).MulVec(m.a, mat.NewVecDense(len(x), x))
	return nil
}

// Adjoint writes Aᵀ·y into dst.
func (m *Matrix) Adjoint(dst, y []float64) error {
	if len(y) != m.OutputDim() || len(dst) != m.InputDim() {
		return fmt.Errorf("operator: adjoint lengths dst %d, y %d for a %d×%d matrix: %w",
			len(dst), len(y), m.OutputDim(), m.InputDim(), ErrDim)
	}
	mat.NewVecDense(len(dst), dst).MulVec(m.a.T(), mat.NewVecDense(len(y), y))
	return nil
}

// A returns the matrix (not a copy).
func (m *Matrix) A() *mat.Dense { return m.a }
