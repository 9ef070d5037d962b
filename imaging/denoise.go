package imaging

import "context"

// Identity is the denoising operator y = x. It is safe for concurrent use.
type Identity struct {
	shape Shape
}

// NewIdentity returns the identity on images of the given shape.
func NewIdentity(shape Shape) (*Identity, error) {
	if err := shape.check(); err != nil {
		return nil, err
	}
	return &Identity{shape: shape}, nil
}

// InputDim returns C·H·W.
func (d *Identity) InputDim() int { return d.shape.Dim() }

// OutputDim returns C·H·W.
func (d *Identity) OutputDim() int { return d.shape.Dim() }

// Forward copies x into dst.
func (d *Identity) Forward(_ context.Context, dst, x []float64) error {
	if err := checkForward(d, dst, x); err != nil {
		return err
	}
	copy(dst, x)
	return nil
}

// Adjoint copies y into dst.
func (d *Identity) Adjoint(dst, y []float64) error {
	if err := checkAdjoint(d, dst, y); err != nil {
		return err
	}
	copy(dst, y)
	return nil
}
