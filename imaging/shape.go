package imaging

import (
	"context"
	"errors"
	"fmt"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// ErrShape reports an impossible image shape or an operator parameter that does not fit the
// image (a mask larger than the image, a factor that does not divide the size, a kernel
// larger than the image).
var ErrShape = errors.New("invalid image shape or operator parameter")

// Shape is the shape (C, H, W) of an image: C channels of H rows and W columns.
type Shape struct {
	C, H, W int
}

// Dim returns C·H·W, the length of a flattened image.
func (s Shape) Dim() int { return s.C * s.H * s.W }

// String returns "C×H×W".
func (s Shape) String() string { return fmt.Sprintf("%d×%d×%d", s.C, s.H, s.W) }

func (s Shape) check() error {
	if s.C < 1 || s.H < 1 || s.W < 1 {
		return fmt.Errorf("imaging: image shape %v: every size must be positive: %w", s, ErrShape)
	}
	return nil
}

// checkLens verifies the lengths of a forward call and the finiteness of its input.
func checkForward(op operator.Operator, dst, x []float64) error {
	if err := operator.CheckDims(op, dst, x); err != nil {
		return fmt.Errorf("imaging: %w", err)
	}
	if err := operator.CheckFinite("imaging: input image", x); err != nil {
		return err
	}
	return nil
}

// checkAdjoint verifies the lengths of an adjoint call and the finiteness of y.
func checkAdjoint(op operator.Operator, dst, y []float64) error {
	if len(y) != op.OutputDim() {
		return fmt.Errorf("imaging: adjoint input has length %d, want %d: %w", len(y), op.OutputDim(), operator.ErrDim)
	}
	if len(dst) != op.InputDim() {
		return fmt.Errorf("imaging: adjoint output has length %d, want %d: %w", len(dst), op.InputDim(), operator.ErrDim)
	}
	return operator.CheckFinite("imaging: adjoint input", y)
}

// ForwardBatch applies an operator to every row of x (one image per row) and writes the
// results into the rows of dst, spreading the rows over len(ops) goroutines: ops[w] is used
// only by worker w, so operators that keep scratch space are never shared. All ops must be
// instances of the same forward model (for example made by one operator.Factory). It allocates
// nothing per image. The first error (lowest row) is returned, wrapped with its row.
func ForwardBatch(ctx context.Context, ops []operator.Operator, dst, x *mat.Dense) error {
	if len(ops) == 0 {
		return fmt.Errorf("imaging: ForwardBatch: no operators")
	}
	n, in := x.Dims()
	m, out := dst.Dims()
	if n != m || in != ops[0].InputDim() || out != ops[0].OutputDim() {
		return fmt.Errorf("imaging: ForwardBatch: x is %d×%d and dst %d×%d for an operator %d → %d: %w",
			n, in, m, out, ops[0].InputDim(), ops[0].OutputDim(), operator.ErrDim)
	}
	return parallel.For(ctx, n, len(ops), func(w, i int) error {
		if err := ops[w].Forward(ctx, dst.RawRowView(i), x.RawRowView(i)); err != nil {
			return fmt.Errorf("imaging: image %d: %w", i, err)
		}
		return nil
	})
}
