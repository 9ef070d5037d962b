package imaging

import (
	"context"
	"fmt"
	"math"
	"math/cmplx"

	"github.com/enkg-go/enkg/operator"
)

// PhaseRetrieval is the published Fourier phase-retrieval forward model: each channel is
// zero-padded by ⌊oversample/8 · H⌋ rows above and below and ⌊oversample/8 · W⌋ columns
// left and right, and the amplitude of its centred orthonormal 2-D DFT is returned,
// channel by channel (output shape (C, H_p, W_p)). It is nonlinear. It keeps scratch space:
// one goroutine at a time.
type PhaseRetrieval struct {
	shape    Shape
	ph, pw   int
	hp, wp   int
	fft      *fft2
	cbuf     []complex128
	invSqrtN float64
}

// NewPhaseRetrieval returns the phase-retrieval operator. The published FFHQ-256 setting is
// oversample = 2 (64 zeros on each side, a 384×384 measurement per channel); oversample = 0
// gives the Fourier amplitude of the unpadded image.
func NewPhaseRetrieval(shape Shape, oversample float64) (*PhaseRetrieval, error) {
	if err := shape.check(); err != nil {
		return nil, err
	}
	if !(oversample >= 0) || math.IsInf(oversample, 0) {
		return nil, fmt.Errorf("imaging: phase-retrieval oversampling %v must be finite and non-negative: %w", oversample, ErrShape)
	}
	return NewPhaseRetrievalPad(shape, int(oversample/8*float64(shape.H)), int(oversample/8*float64(shape.W)))
}

// NewPhaseRetrievalPad returns the phase-retrieval operator with explicit zero padding: rows
// above and below, cols left and right. The published code computes the padding as
// int(oversample/8 · 256) whatever the image size; NewPhaseRetrievalPad(shape, 64, 64)
// reproduces it literally on images that are not 256×256.
func NewPhaseRetrievalPad(shape Shape, rows, cols int) (*PhaseRetrieval, error) {
	if err := shape.check(); err != nil {
		return nil, err
	}
	if rows < 0 || cols < 0 {
		return nil, fmt.Errorf("imaging: negative phase-retrieval padding (%d, %d): %w", rows, cols, ErrShape)
	}
	ph, pw := rows, cols
	p := &PhaseRetrieval{shape: shape, ph: ph, pw: pw, hp: shape.H + 2*ph, wp: shape.W + 2*pw}
	p.fft = newFFT2(p.hp, p.wp)
	p.cbuf = make([]complex128, p.hp*p.wp)
	p.invSqrtN = 1 / math.Sqrt(float64(p.hp*p.wp))
	return p, nil
}

// Pad returns the number of zero rows and columns added on each side.
func (p *PhaseRetrieval) Pad() (rows, cols int) { return p.ph, p.pw }

// OutShape returns the measurement shape (C, H + 2·pad_rows, W + 2·pad_cols).
func (p *PhaseRetrieval) OutShape() Shape { return Shape{p.shape.C, p.hp, p.wp} }

// InputDim returns C·H·W.
func (p *PhaseRetrieval) InputDim() int { return p.shape.Dim() }

// OutputDim returns C·H_p·W_p.
func (p *PhaseRetrieval) OutputDim() int { return p.shape.C * p.hp * p.wp }

// Forward writes the Fourier amplitudes into dst. Two real channels share one complex DFT
// (Z = F(x₁ + i·x₂), F x₁ = (Z[k] + conj Z[−k])/2, F x₂ = (Z[k] − conj Z[−k])/2i).
func (p *PhaseRetrieval) Forward(_ context.Context, dst, x []float64) error {
	if err := checkForward(p, dst, x); err != nil {
		return err
	}
	n, m := p.shape.H*p.shape.W, p.hp*p.wp
	for c := 0; c < p.shape.C; c += 2 {
		x1 := x[c*n : (c+1)*n]
		var x2 []float64
		if c+1 < p.shape.C {
			x2 = x[(c+1)*n : (c+2)*n]
		}
		for i := range p.cbuf {
			p.cbuf[i] = 0
		}
		for i := 0; i < p.shape.H; i++ {
			row := p.cbuf[(i+p.ph)*p.wp+p.pw : (i+p.ph)*p.wp+p.pw+p.shape.W]
			for j := range row {
				v := complex(x1[i*p.shape.W+j], 0)
				if x2 != nil {
					v = complex(x1[i*p.shape.W+j], x2[i*p.shape.W+j])
				}
				row[j] = v
			}
		}
		p.fft.forward(p.cbuf)
		y1 := dst[c*m : (c+1)*m]
		var y2 []float64
		if x2 != nil {
			y2 = dst[(c+1)*m : (c+2)*m]
		}
		for k := 0; k < p.hp; k++ {
			ks := (k - p.hp/2 + p.hp) % p.hp // fftshift: output k holds frequency ks
			kn := (p.hp - ks) % p.hp
			for l := 0; l < p.wp; l++ {
				ls := (l - p.wp/2 + p.wp) % p.wp
				z := p.cbuf[ks*p.wp+ls]
				if y2 == nil {
					y1[k*p.wp+l] = cmplx.Abs(z) * p.invSqrtN
					continue
				}
				zc := cmplx.Conj(p.cbuf[kn*p.wp+(p.wp-ls)%p.wp])
				y1[k*p.wp+l] = 0.5 * cmplx.Abs(z+zc) * p.invSqrtN
				y2[k*p.wp+l] = 0.5 * cmplx.Abs(z-zc) * p.invSqrtN
			}
		}
	}
	return nil
}

// VJP writes Jᵀ(x)·v into dst: the gradient with respect to x of ⟨v, G(x)⟩, where J is the
// Jacobian of the amplitude map at x (len(dst) = len(x) = InputDim, len(v) = OutputDim).
// With Z = F(pad x) per channel,
//
//	Jᵀ v = padᵀ Re( F^H( u ⊙ Z / |Z| ) ) / √(H_p·W_p),   u = v with the fftshift undone,
//
// and the convention of torch's abs backward at Z = 0 (the term is 0). It lets
// gradient-based methods (DPS) run on phase retrieval, which has no adjoint.
func (p *PhaseRetrieval) VJP(dst, x, v []float64) error {
	if err := checkForward(p, v, x); err != nil {
		return err
	}
	if len(dst) != p.InputDim() {
		return fmt.Errorf("imaging: VJP output has length %d, want %d: %w", len(dst), p.InputDim(), operator.ErrDim)
	}
	if err := operator.CheckFinite("imaging: VJP cotangent", v); err != nil {
		return err
	}
	n, m := p.shape.H*p.shape.W, p.hp*p.wp
	for c := 0; c < p.shape.C; c++ {
		for i := range p.cbuf {
			p.cbuf[i] = 0
		}
		xc := x[c*n : (c+1)*n]
		for i := 0; i < p.shape.H; i++ {
			row := p.cbuf[(i+p.ph)*p.wp+p.pw : (i+p.ph)*p.wp+p.pw+p.shape.W]
			for j := range row {
				row[j] = complex(xc[i*p.shape.W+j], 0)
			}
		}
		p.fft.forward(p.cbuf)
		vc := v[c*m : (c+1)*m]
		for k := 0; k < p.hp; k++ {
			ks := (k - p.hp/2 + p.hp) % p.hp
			for l := 0; l < p.wp; l++ {
				ls := (l - p.wp/2 + p.wp) % p.wp
				z := p.cbuf[ks*p.wp+ls]
				a := cmplx.Abs(z)
				if a == 0 {
					p.cbuf[ks*p.wp+ls] = 0
					continue
				}
				p.cbuf[ks*p.wp+ls] = z * complex(vc[k*p.wp+l]/a, 0)
			}
		}
		// F^H w = N · ifft2(w).
		p.fft.inverse(p.cbuf)
		s := float64(m) * p.invSqrtN
		dc := dst[c*n : (c+1)*n]
		for i := 0; i < p.shape.H; i++ {
			row := p.cbuf[(i+p.ph)*p.wp+p.pw : (i+p.ph)*p.wp+p.pw+p.shape.W]
			for j, z := range row {
				dc[i*p.shape.W+j] = s * real(z)
			}
		}
	}
	return nil
}
