package diffusion

import (
	"errors"
	"fmt"
	"math"
)

// ErrParam reports an impossible parameter (a negative σ, a non-positive ρ, too few steps…).
var ErrParam = errors.New("diffusion: invalid parameter")

// Default EDM schedule parameters (Karras et al. 2022, Table 1).
const (
	DefaultSigmaMin = 0.002
	DefaultSigmaMax = 80.0
	DefaultRho      = 7.0
)

// KarrasSigmas returns the n+1 noise levels σ_0 > … > σ_{n−1} > σ_n = 0 of the EDM
// discretisation
//
//	σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ,  i < n,   σ_n = 0,
//
// computed in float64. n = 1 gives [σ_max, 0]. It needs n ≥ 1, 0 < σ_min ≤ σ_max and ρ > 0.
func KarrasSigmas(n int, sigmaMin, sigmaMax, rho float64) ([]float64, error) {
	return Karras{SigmaMin: sigmaMin, SigmaMax: sigmaMax, Rho: rho}.AppendSigmas(nil, n)
}

// Karras is the EDM noise-level discretisation with its parameters. The zero value is not
// valid; use DefaultSigmaMin, DefaultSigmaMax and DefaultRho.
type Karras struct {
	SigmaMin, SigmaMax, Rho float64
	// Float32 reproduces the published PyTorch codes (EDM's samplers as used by
	// devzhk/enkg-pytorch), which evaluate the schedule in float32 arithmetic:
	// torch.arange(n, dtype=float32), σ_max^{1/ρ} and σ_min^{1/ρ} in float64 (Python
	// floats) rounded to float32 when combined with the tensor, then the sum and the power
	// in float32. The σ_i returned are float32 values stored in float64. Float64 is the
	// default; the two differ by about 1e-7 relative.
	Float32 bool
}

func (k Karras) check(n int) error {
	switch {
	case n < 1:
		return fmt.Errorf("%w: Karras schedule needs n ≥ 1 steps, got %d", ErrParam, n)
	case !(k.SigmaMin > 0) || math.IsInf(k.SigmaMin, 0):
		return fmt.Errorf("%w: Karras σ_min = %v must be positive and finite", ErrParam, k.SigmaMin)
	case !(k.SigmaMax >= k.SigmaMin) || math.IsInf(k.SigmaMax, 0):
		return fmt.Errorf("%w: Karras σ_max = %v must be finite and ≥ σ_min = %v", ErrParam, k.SigmaMax, k.SigmaMin)
	case !(k.Rho > 0) || math.IsInf(k.Rho, 0):
		return fmt.Errorf("%w: Karras ρ = %v must be positive and finite", ErrParam, k.Rho)
	}
	return nil
}

// AppendSigmas appends σ_0, …, σ_{n−1}, σ_n = 0 to dst and returns the extended slice
// (no allocation when dst has capacity n+1).
func (k Karras) AppendSigmas(dst []float64, n int) ([]float64, error) {
	if err := k.check(n); err != nil {
		return dst, err
	}
	if n == 1 { // (i/(n−1) is 0/0 in the formula; the single level is σ_max.)
		if k.Float32 {
			return append(dst, f32(k.SigmaMax), 0), nil
		}
		return append(dst, k.SigmaMax, 0), nil
	}
	if k.Float32 {
		a := math.Pow(k.SigmaMax, 1/k.Rho)
		b := math.Pow(k.SigmaMin, 1/k.Rho) - a
		return appendKarras32(dst, n, f32(a), f32(b), k.Rho), nil
	}
	a := math.Pow(k.SigmaMax, 1/k.Rho)
	b := math.Pow(k.SigmaMin, 1/k.Rho) - a
	for i := 0; i < n; i++ {
		dst = append(dst, math.Pow(a+float64(i)/float64(n-1)*b, k.Rho))
	}
	return append(dst, 0), nil
}

// f32 rounds to the nearest float32. Sums, products and quotients of float32 values
// computed in float64 and rounded once are the correctly rounded float32 results.
func f32(x float64) float64 { return float64(float32(x)) }

// appendKarras32 evaluates (a + (i/(n−1))·b)^ρ in float32 arithmetic, a and b float32.
func appendKarras32(dst []float64, n int, a, b, rho float64) []float64 {
	e := f32(rho)
	for i := 0; i < n; i++ {
		r := 0.0
		if n > 1 {
			r = f32(float64(i) / float64(n-1))
		}
		base := f32(a + f32(r*b))
		dst = append(dst, f32(math.Pow(base, e)))
	}
	return append(dst, 0)
}

// appendKarrasFrom32 is the sub-schedule of enkg-pytorch's ode_sampler in float32: σ_start
// is already a float32 tensor, so σ_start^{1/ρ} is a float32 power (exponent rounded to
// float32), while σ_min^{1/ρ} is a Python float rounded to float32 on use.
func appendKarrasFrom32(dst []float64, n int, sigmaStart, sigmaMin, rho float64) []float64 {
	a := f32(math.Pow(f32(sigmaStart), f32(1/rho)))
	b := f32(f32(math.Pow(sigmaMin, 1/rho)) - a)
	return appendKarras32(dst, n, a, b, rho)
}
