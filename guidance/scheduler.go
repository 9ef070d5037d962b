package guidance

import (
	"fmt"
	"math"

	"github.com/enkg-go/enkg/diffusion"
	"gonum.org/v1/gonum/mat"
)

// Schedule is the discretisation of the reverse diffusion used by the baselines (DPS, GSG,
// DPG, SCG), as InverseBench's utils/scheduler.py Scheduler defines it: times t_0 … t_{N−1}
// of a diffusion.Formulation, then t_N = σ⁻¹(σ_final) (not 0), and per step
//
//	σ_i = σ(t_i),  s_i = s(t_i),
//	factor_i = max(0, 2·s_i²·σ_i·σ'(t_i)·(t_i − t_{i+1})),
//	scaling_factor_i = 1 − s'(t_i)/s_i·(t_i − t_{i+1}).
//
// A step from x_i with D_i = D(x_i/s_i; σ_i) and score_i = (D_i − x_i/s_i)/σ_i²/s_i is
//
//	SDE: x_{i+1} = x_i·scaling_factor_i + factor_i·score_i + √factor_i·ε,
//	ODE: x_{i+1} = x_i·scaling_factor_i + ½·factor_i·score_i,
//
// starting from x_0 = σ_init·N(0, I) with σ_init = σ_max (VP: σ(1)·s(1)).
type Schedule struct {
	// Kind is "vp" (schedule, timestep and scaling 'vp', the published baseline configs) or
	// "edm" (σ(t) = t, Karras 'poly-ρ' times, no scaling). Default "vp".
	Kind string
	// Steps is N. Default 1000 (published).
	Steps int
	// SigmaMax and SigmaMin bound the EDM times (defaults 100 and 0.01, InverseBench's);
	// for VP, SigmaMin only sets the default final level.
	SigmaMax, SigmaMin float64
	// SigmaFinal is σ_N (default SigmaMin, as InverseBench).
	SigmaFinal float64
	// Rho is the Karras exponent of "edm" (default 7).
	Rho float64
}

// DefaultSchedule returns the published baseline schedule: VP, 1000 steps.
func DefaultSchedule() Schedule {
	return Schedule{Kind: "vp", Steps: 1000, SigmaMax: 100, SigmaMin: 0.01, Rho: 7}
}

type discretisation struct {
	n                 int
	sigma, scale      []float64 // n+1
	factor, scaleFact []float64 // n
	sigmaInit         float64
}

func (s Schedule) discretise() (*discretisation, error) {
	if s.Kind == "" {
		s.Kind = "vp"
	}
	if s.SigmaMax == 0 {
		s.SigmaMax = 100
	}
	if s.SigmaMin == 0 {
		s.SigmaMin = 0.01
	}
	if s.SigmaFinal == 0 {
		s.SigmaFinal = s.SigmaMin
	}
	if s.Rho == 0 {
		s.Rho = 7
	}
	if s.Steps < 2 {
		return nil, fmt.Errorf("guidance: schedule with %d steps: need at least 2", s.Steps)
	}
	if !(s.SigmaFinal > 0) || math.IsInf(s.SigmaFinal, 0) {
		return nil, fmt.Errorf("guidance: schedule final σ %v must be positive", s.SigmaFinal)
	}
	var f diffusion.Formulation
	switch s.Kind {
	case "vp":
		f = diffusion.VP{}
	case "edm":
		if err := checkSchedule(s.SigmaMin, s.SigmaMax, s.Rho); err != nil {
			return nil, fmt.Errorf("guidance: schedule: %w", err)
		}
		f = diffusion.EDM{SigmaMin: s.SigmaMin, SigmaMax: s.SigmaMax, Rho: s.Rho}
	default:
		return nil, fmt.Errorf("guidance: unknown schedule kind %q (want vp or edm)", s.Kind)
	}
	t, err := f.AppendTimes(nil, s.Steps)
	if err != nil {
		return nil, fmt.Errorf("guidance: schedule: %w", err)
	}
	t[s.Steps] = f.SigmaInv(s.SigmaFinal)
	n := s.Steps
	d := &discretisation{n: n, sigma: make([]float64, n+1), scale: make([]float64, n+1),
		factor: make([]float64, n), scaleFact: make([]float64, n)}
	for i, ti := range t {
		d.sigma[i], d.scale[i] = f.Sigma(ti), f.Scale(ti)
	}
	for i := 0; i < n; i++ {
		dt := t[i] - t[i+1]
		d.factor[i] = math.Max(0, 2*d.scale[i]*d.scale[i]*d.sigma[i]*f.SigmaDeriv(t[i])*dt)
		d.scaleFact[i] = 1 - f.ScaleDeriv(t[i])/d.scale[i]*dt
	}
	d.sigmaInit = s.SigmaMax
	if s.Kind == "vp" {
		d.sigmaInit = f.Sigma(1) * f.Scale(1)
	}
	return d, nil
}

// scaleRows writes x/s into dst.
func scaleRows(dst, x *mat.Dense, s float64) {
	r, _ := x.Dims()
	for i := 0; i < r; i++ {
		xr, dr := x.RawRowView(i), dst.RawRowView(i)
		for k, v := range xr {
			dr[k] = v / s
		}
	}
}

// reverseStep moves row x (with xs = x/s_i and den = D(xs; σ_i)) one step; eps is the SDE
// noise (ignored for the ODE) and extra, when non-nil, is added to the score (DPG).
func (d *discretisation) reverseStep(x, xs, den, eps, extra []float64, extraScale float64, i int, sde bool) {
	sig, s, f, sf := d.sigma[i], d.scale[i], d.factor[i], d.scaleFact[i]
	sq := math.Sqrt(f)
	for k, v := range x {
		score := (den[k] - xs[k]) / (sig * sig) / s
		if extra != nil {
			score += extra[k] * extraScale
		}
		if sde {
			x[k] = v*sf + f*score + sq*eps[k]
		} else {
			x[k] = v*sf + f*score*0.5
		}
	}
}
