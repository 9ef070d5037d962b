package diffusion

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// ErrDim reports a shape mismatch (it is operator.ErrDim, so errors.Is works across packages).
var ErrDim = operator.ErrDim

// ErrNonFinite reports a NaN or an infinity in an input (it is operator.ErrNonFinite).
var ErrNonFinite = operator.ErrNonFinite

// Prior is an exactly known prior: a Denoiser that can also draw independent samples.
// Sample fills each row j of dst with a draw from the stream rng.Stream(seed, j), so the
// result does not depend on the number of workers.
type Prior interface {
	Denoiser
	Sample(ctx context.Context, dst *mat.Dense, seed uint64) error
}

// LogDensity is implemented by the priors with a density (all but Empirical): LogProb
// returns log p(x0) for one field and panics if len(x) ≠ Dim().
type LogDensity interface {
	LogProb(x []float64) float64
}

var (
	_ Prior      = (*DiagGaussian)(nil)
	_ Prior      = (*Gaussian)(nil)
	_ Prior      = (*SpectralGaussian)(nil)
	_ Prior      = (*GMM)(nil)
	_ Prior      = (*Empirical)(nil)
	_ LogDensity = (*DiagGaussian)(nil)
	_ LogDensity = (*Gaussian)(nil)
	_ LogDensity = (*SpectralGaussian)(nil)
	_ LogDensity = (*GMM)(nil)
)

// Affine is the map between physical units and a prior's normalised space:
//
//	physical = Scale·normalised + Shift.
//
// The zero value is the identity (Scale 0 is read as 1). The published Navier–Stokes
// prior works on vorticity/10, that is Affine{Scale: 10}.
type Affine struct {
	Scale, Shift float64
}

func (a Affine) scale() float64 {
	if a.Scale == 0 {
		return 1
	}
	return a.Scale
}

// ToPhysical writes Scale·src + Shift into dst (dst may alias src).
func (a Affine) ToPhysical(dst, src []float64) {
	s := a.scale()
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = s*v + a.Shift
	}
}

// ToNormalised writes (src − Shift)/Scale into dst (dst may alias src).
func (a Affine) ToNormalised(dst, src []float64) {
	s := a.scale()
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = (v - a.Shift) / s
	}
}

// PhysicalDense applies ToPhysical to every element of m in place.
func (a Affine) PhysicalDense(m *mat.Dense) {
	r, _ := m.Dims()
	for i := 0; i < r; i++ {
		row := m.RawRowView(i)
		a.ToPhysical(row, row)
	}
}

// NormalisedDense applies ToNormalised to every element of m in place.
func (a Affine) NormalisedDense(m *mat.Dense) {
	r, _ := m.Dims()
	for i := 0; i < r; i++ {
		row := m.RawRowView(i)
		a.ToNormalised(row, row)
	}
}

// Valid reports an error for a non-finite or zero-after-default scale or a non-finite shift.
func (a Affine) Valid() error {
	s := a.scale()
	if math.IsNaN(s) || math.IsInf(s, 0) || math.IsNaN(a.Shift) || math.IsInf(a.Shift, 0) {
		return fmt.Errorf("%w: normalisation %+v must be finite", ErrParam, a)
	}
	return nil
}

// checkDenoise validates the arguments every Denoise shares.
func checkDenoise(name string, dst, x *mat.Dense, dim int, sigma float64) error {
	r, c := x.Dims()
	if dr, dc := dst.Dims(); dr != r || dc != c {
		return fmt.Errorf("%w: %s denoiser: dst is %d×%d, x is %d×%d", ErrDim, name, dr, dc, r, c)
	}
	if c != dim {
		return fmt.Errorf("%w: %s denoiser: x has %d columns, the prior has dimension %d", ErrDim, name, c, dim)
	}
	if !(sigma >= 0) || math.IsInf(sigma, 0) {
		return fmt.Errorf("%w: %s denoiser at σ = %v (must be finite and ≥ 0)", ErrParam, name, sigma)
	}
	return nil
}

// checkSample validates the destination of a Sample call.
func checkSample(name string, dst *mat.Dense, dim int) error {
	if _, c := dst.Dims(); c != dim {
		return fmt.Errorf("%w: %s sample: dst has %d columns, the prior has dimension %d", ErrDim, name, c, dim)
	}
	return nil
}

// rowFinite returns an error naming the member when row contains a NaN or an infinity.
func rowFinite(name string, i int, row []float64) error {
	s := 0.0
	for _, v := range row {
		s += v * 0
	}
	if s != 0 || math.IsNaN(s) {
		return fmt.Errorf("%w: %s denoiser: member %d of x", ErrNonFinite, name, i)
	}
	return nil
}

// finiteSlice checks a parameter vector.
func finiteSlice(what string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: %s[%d] = %v", ErrNonFinite, what, i, x)
		}
	}
	return nil
}

// Physical returns d expressed in physical units through the normalisation a: with
// x = Scale·x' + Shift and σ = |Scale|·σ',
//
//	D_phys(x; σ) = Scale·D((x − Shift)/Scale; σ/|Scale|) + Shift.
//
// A sampler or EnKG run on the result works directly on physical fields. The returned
// Denoiser keeps a workspace per call and is safe for concurrent use if d is.
func Physical(d Denoiser, a Affine) Denoiser { return physical{d: d, a: a} }

type physical struct {
	d Denoiser
	a Affine
}

func (p physical) Dim() int { return p.d.Dim() }

func (p physical) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	if err := checkDenoise("physical-units", dst, x, p.d.Dim(), sigma); err != nil {
		return err
	}
	s := p.a.scale()
	if s == 1 && p.a.Shift == 0 {
		return p.d.Denoise(ctx, dst, x, sigma)
	}
	r, c := x.Dims()
	if r == 0 {
		return nil
	}
	tmp := mat.NewDense(r, c, nil)
	tmp.Copy(x)
	p.a.NormalisedDense(tmp)
	if err := p.d.Denoise(ctx, dst, tmp, sigma/math.Abs(s)); err != nil {
		return err
	}
	p.a.PhysicalDense(dst)
	return nil
}
