// Package operator defines the interfaces every forward model of enkg satisfies, and the
// misfits (negative log-likelihoods) that compare a prediction with an observation.
//
// An inverse problem reads
//
//	y = G(x) + η,
//
// where G: R^n → R^m is a forward model (a PDE solve, a visibility simulator, an image
// degradation) that can only be run forward, and η is measurement noise. A Misfit is the data
// term Loss(G(x), y) = −log p(y | G(x)) + const; for Gaussian noise with standard deviation σ,
//
//	Loss(p, y) = ½ Σ_k (p_k − y_k)² / σ²,   ∂Loss/∂p_k = (p_k − y_k) / σ².
//
// Solvers in package guidance need nothing else from a model: derivative-free methods (EnKG,
// EKI, GSG, DPG, SCG) only call Forward; gradient-based methods (DPS) also need an Adjointer
// (linear models) or a VJPer (nonlinear models with a Jacobian-transpose product).
package operator

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Operator is a forward model G: R^InputDim → R^OutputDim.
//
// An Operator value may hold scratch space (FFT plans, solver workspaces) and is used by one
// goroutine at a time unless its documentation says it is safe for concurrent use. Ensemble
// engines obtain one instance per worker through a Factory.
type Operator interface {
	// Forward writes G(x) into dst. len(x) must be InputDim and len(dst) OutputDim.
	// It returns an error for wrong lengths, non-finite input or a failed simulation,
	// and ctx.Err() when ctx is cancelled during a long evaluation.
	Forward(ctx context.Context, dst, x []float64) error
	InputDim() int
	OutputDim() int
}

// Factory returns a new, independent instance of a forward model. Ensemble engines call it
// once per worker, so that scratch space is never shared between goroutines.
type Factory func() (Operator, error)

// Adjointer is implemented by linear operators G(x) = A·x that can apply their adjoint:
// Adjoint writes Aᵀy into dst (len(dst) = InputDim, len(y) = OutputDim). It enables
// gradient-based guidance (DPS) and closed-form test oracles.
type Adjointer interface {
	Adjoint(dst, y []float64) error
}

// VJPer is implemented by (nonlinear) operators that can apply the transpose of their Jacobian
// at a point: VJP writes J_G(x)ᵀ·v into dst (len(dst) = len(x) = InputDim, len(v) =
// OutputDim), the vector–Jacobian product that automatic differentiation computes. For a
// linear operator it is the adjoint, whatever x. It enables gradient-based guidance (DPS)
// on nonlinear models such as phase retrieval.
type VJPer interface {
	VJP(dst, x, v []float64) error
}

// Linear is a linear operator with its adjoint.
type Linear interface {
	Operator
	Adjointer
}

// Misfit is the data term in measurement space: Loss(pred, obs) = −log p(obs | pred) + const,
// and its gradient with respect to pred (analytic and cheap: no derivative of G is involved).
type Misfit interface {
	Loss(pred, obs []float64) float64
	// Gradient writes ∂Loss/∂pred into dst (len(dst) = len(pred) = len(obs)).
	Gradient(dst, pred, obs []float64)
}

// ErrDim reports a length mismatch between a slice and what an operator expects.
var ErrDim = errors.New("dimension mismatch")

// ErrNonFinite reports a NaN or an infinity in an input or an output.
var ErrNonFinite = errors.New("non-finite value")

// CheckDims returns an error wrapping ErrDim when len(dst) or len(x) do not match op.
func CheckDims(op Operator, dst, x []float64) error {
	if len(x) != op.InputDim() {
		return fmt.Errorf("operator input has length %d, want %d: %w", len(x), op.InputDim(), ErrDim)
	}
	if len(dst) != op.OutputDim() {
		return fmt.Errorf("operator output has length %d, want %d: %w", len(dst), op.OutputDim(), ErrDim)
	}
	return nil
}

// CheckFinite returns an error wrapping ErrNonFinite naming the first NaN or ±Inf in v;
// what describes v in the message (e.g. "input field").
func CheckFinite(what string, v []float64) error {
	for i, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s[%d] = %v: %w", what, i, f, ErrNonFinite)
		}
	}
	return nil
}

// Gaussian is the misfit of independent Gaussian noise with standard deviation Sigma:
//
//	Loss(p, y) = ½ Σ (p_k − y_k)² / σ²,  Gradient = (p − y) / σ².
//
// The zero value uses σ = 1, i.e. half the squared L2 distance. Sigma must not be negative.
type Gaussian struct {
	Sigma float64
}

func (g Gaussian) inv2() float64 {
	s := g.Sigma
	if s == 0 {
		s = 1
	}
	return 1 / (s * s)
}

// Loss returns ½ Σ (pred_k − obs_k)² / σ². It panics if the lengths differ (a programming error).
func (g Gaussian) Loss(pred, obs []float64) float64 {
	if len(pred) != len(obs) {
		panic(fmt.Sprintf("operator: Gaussian.Loss: len(pred) = %d, len(obs) = %d", len(pred), len(obs)))
	}
	var s float64
	for k, p := range pred {
		d := p - obs[k]
		s += d * d
	}
	return 0.5 * s * g.inv2()
}

// Gradient writes (pred − obs)/σ² into dst. It panics if the lengths differ.
func (g Gaussian) Gradient(dst, pred, obs []float64) {
	if len(pred) != len(obs) || len(dst) != len(pred) {
		panic(fmt.Sprintf("operator: Gaussian.Gradient: lengths dst %d, pred %d, obs %d", len(dst), len(pred), len(obs)))
	}
	w := g.inv2()
	for k, p := range pred {
		dst[k] = (p - obs[k]) * w
	}
}
