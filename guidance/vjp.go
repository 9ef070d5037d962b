package guidance

import (
	"context"
	"fmt"
	"sync"

	"github.com/enkg-go/enkg/diffusion"
	"gonum.org/v1/gonum/mat"
)

// AffineVJP gives the vector–Jacobian products of a denoiser that is affine in x with a
// symmetric Jacobian — every exact Gaussian prior, D(x; σ) = μ + Σ(Σ + σ²I)⁻¹(x − μ)
// (diffusion.DiagGaussian, SpectralGaussian, Gaussian): then J_Dᵀv = J_D·v = D(x + v; σ) −
// D(x; σ). It costs two denoiser evaluations per row and is wrong for non-Gaussian priors
// (mixtures, empirical, neural): use it only when the prior is Gaussian.
type AffineVJP struct {
	diffusion.Denoiser

	mu  sync.Mutex
	buf *mat.Dense
}

// NewAffineVJP wraps a Gaussian prior's denoiser.
func NewAffineVJP(d diffusion.Denoiser) *AffineVJP { return &AffineVJP{Denoiser: d} }

// DenoiseVJP writes D(x_i + v_i; σ) − D(x_i; σ) into row i of dst.
func (a *AffineVJP) DenoiseVJP(ctx context.Context, dst, x, v *mat.Dense, sigma float64) error {
	r, c := x.Dims()
	if vr, vc := v.Dims(); vr != r || vc != c {
		return fmt.Errorf("guidance: AffineVJP: v is %d×%d, x is %d×%d", vr, vc, r, c)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.buf == nil || a.buf.RawMatrix().Rows != r || a.buf.RawMatrix().Cols != c {
		a.buf = mat.NewDense(r, c, nil)
	}
	a.buf.Add(x, v)
	if err := a.Denoise(ctx, dst, a.buf, sigma); err != nil {
		return err
	}
	if err := a.Denoise(ctx, a.buf, x, sigma); err != nil {
		return err
	}
	dst.Sub(dst, a.buf)
	return nil
}
