package diffusion

import (
	"fmt"
	"math"
)

// Formulation is a diffusion process in the general form of the EDM paper (Karras et al.
// 2022, Table 1): x(t) = s(t)·(x0 + σ(t)·ε), with noise level σ(t), scale s(t), and a
// discretisation t_0 > … > t_{N−1} > t_N = 0 of sampling time. The probability-flow ODE
// reads
//
//	dx/dt = (σ'(t)/σ(t) + s'(t)/s(t))·x − σ'(t)·s(t)/σ(t)·D(x/s(t); σ(t)).
//
// EDM, VP and VE implement it.
type Formulation interface {
	Sigma(t float64) float64      // σ(t)
	SigmaDeriv(t float64) float64 // σ'(t)
	SigmaInv(sigma float64) float64
	Scale(t float64) float64      // s(t)
	ScaleDeriv(t float64) float64 // s'(t)
	// AppendTimes appends t_0, …, t_{n−1} and t_n = 0 to dst.
	AppendTimes(dst []float64, n int) ([]float64, error)
}

// EDM is the formulation of Karras et al.: σ(t) = t, s(t) = 1, Karras time steps. Zero
// fields take the defaults σ_min = 0.002, σ_max = 80, ρ = 7; Float32 evaluates the
// schedule as the published float32 codes do (see Karras).
type EDM struct {
	SigmaMin, SigmaMax, Rho float64
	Float32                 bool
}

func (e EDM) karras() Karras {
	k := Karras{SigmaMin: e.SigmaMin, SigmaMax: e.SigmaMax, Rho: e.Rho, Float32: e.Float32}
	if k.SigmaMin == 0 {
		k.SigmaMin = DefaultSigmaMin
	}
	if k.SigmaMax == 0 {
		k.SigmaMax = DefaultSigmaMax
	}
	if k.Rho == 0 {
		k.Rho = DefaultRho
	}
	return k
}

func (EDM) Sigma(t float64) float64        { return t }
func (EDM) SigmaDeriv(float64) float64     { return 1 }
func (EDM) SigmaInv(sigma float64) float64 { return sigma }
func (EDM) Scale(float64) float64          { return 1 }
func (EDM) ScaleDeriv(float64) float64     { return 0 }

// AppendTimes appends the Karras noise levels (t = σ).
func (e EDM) AppendTimes(dst []float64, n int) ([]float64, error) {
	return e.karras().AppendSigmas(dst, n)
}

// VP is the variance-preserving formulation (Song et al. 2021) as written in the EDM paper:
//
//	σ(t) = √(exp(½β_d t² + β_min t) − 1),  s(t) = 1/√(1 + σ(t)²),
//	t_i = 1 + i/(N−1)·(ε_s − 1),
//
// with defaults β_d = 19.9, β_min = 0.1, ε_s = 1e-3 (σ from 0.0105 at t = ε_s to 152 at
// t = 1). Use it to sample as the VP paper does, in the scaled space x = s·(x0 + σε); a
// network trained with VP preconditioning is a Denoiser D(x; σ) and samples with any
// formulation.
type VP struct {
	BetaD, BetaMin, EpsS float64
}

func (v VP) params() (bd, bm, eps float64) {
	bd, bm, eps = v.BetaD, v.BetaMin, v.EpsS
	if bd == 0 {
		bd = 19.9
	}
	if bm == 0 {
		bm = 0.1
	}
	if eps == 0 {
		eps = 1e-3
	}
	return
}

// VPFromSigmas returns the VP formulation whose σ(ε_s) = sigmaMin and σ(1) = sigmaMax (the
// EDM ablation sampler's adjustment: β_d = 2(ln(σ_min²+1)/ε_s − ln(σ_max²+1))/(ε_s − 1),
// β_min = ln(σ_max²+1) − β_d/2).
func VPFromSigmas(sigmaMin, sigmaMax, epsS float64) (VP, error) {
	if !(sigmaMin > 0) || !(sigmaMax > sigmaMin) || math.IsInf(sigmaMax, 0) || !(epsS > 0 && epsS < 1) {
		return VP{}, fmt.Errorf("%w: VP needs 0 < σ_min < σ_max < ∞ and 0 < ε_s < 1, got %v, %v, %v", ErrParam, sigmaMin, sigmaMax, epsS)
	}
	a, b := math.Log1p(sigmaMin*sigmaMin), math.Log1p(sigmaMax*sigmaMax)
	bd := 2 * (a/epsS - b) / (epsS - 1)
	return VP{BetaD: bd, BetaMin: b - 0.5*bd, EpsS: epsS}, nil
}

func (v VP) Sigma(t float64) float64 {
	bd, bm, _ := v.params()
	return math.Sqrt(math.Expm1(0.5*bd*t*t + bm*t))
}

func (v VP) SigmaDeriv(t float64) float64 {
	bd, bm, _ := v.params()
	s := v.Sigma(t)
	return 0.5 * (bm + bd*t) * (s + 1/s)
}

func (v VP) SigmaInv(sigma float64) float64 {
	bd, bm, _ := v.params()
	return (math.Sqrt(bm*bm+2*bd*math.Log1p(sigma*sigma)) - bm) / bd
}

func (v VP) Scale(t float64) float64 {
	s := v.Sigma(t)
	return 1 / math.Sqrt(1+s*s)
}

func (v VP) ScaleDeriv(t float64) float64 {
	s := v.Scale(t)
	return -v.Sigma(t) * v.SigmaDeriv(t) * s * s * s
}

// AppendTimes appends t_i = 1 + i/(n−1)(ε_s − 1) and t_n = 0.
func (v VP) AppendTimes(dst []float64, n int) ([]float64, error) {
	bd, bm, eps := v.params()
	if n < 1 || !(bd > 0) || !(bm >= 0) || !(eps > 0 && eps < 1) {
		return dst, fmt.Errorf("%w: VP needs n ≥ 1, β_d > 0, β_min ≥ 0, 0 < ε_s < 1; got %d, %v, %v, %v", ErrParam, n, bd, bm, eps)
	}
	for i := 0; i < n; i++ {
		t := 1.0
		if n > 1 {
			t = 1 + float64(i)/float64(n-1)*(eps-1)
		}
		dst = append(dst, t)
	}
	return append(dst, 0), nil
}

// VE is the variance-exploding formulation (Song et al. 2021) as written in the EDM paper:
//
//	σ(t) = √t,  s(t) = 1,  t_i = σ_max²·(σ_min²/σ_max²)^{i/(N−1)},
//
// with defaults σ_min = 0.02, σ_max = 100.
type VE struct {
	SigmaMin, SigmaMax float64
}

func (v VE) params() (float64, float64) {
	a, b := v.SigmaMin, v.SigmaMax
	if a == 0 {
		a = 0.02
	}
	if b == 0 {
		b = 100
	}
	return a, b
}

func (VE) Sigma(t float64) float64        { return math.Sqrt(t) }
func (VE) SigmaDeriv(t float64) float64   { return 0.5 / math.Sqrt(t) }
func (VE) SigmaInv(sigma float64) float64 { return sigma * sigma }
func (VE) Scale(float64) float64          { return 1 }
func (VE) ScaleDeriv(float64) float64     { return 0 }

// AppendTimes appends the geometric VE times and t_n = 0.
func (v VE) AppendTimes(dst []float64, n int) ([]float64, error) {
	a, b := v.params()
	if n < 1 || !(a > 0) || !(b >= a) || math.IsInf(b, 0) {
		return dst, fmt.Errorf("%w: VE needs n ≥ 1 and 0 < σ_min ≤ σ_max < ∞; got %d, %v, %v", ErrParam, n, a, b)
	}
	for i := 0; i < n; i++ {
		r := 0.0
		if n > 1 {
			r = float64(i) / float64(n-1)
		}
		dst = append(dst, b*b*math.Pow(a*a/(b*b), r))
	}
	return append(dst, 0), nil
}
