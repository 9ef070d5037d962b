package guidance

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// DPGSettings are the parameters of diffusion policy gradient guidance (Tang et al. 2024,
// enkg-pytorch algo/dpg.py).
type DPGSettings struct {
	// Members is the number of independent chains (published: 1). Default 1.
	Members int
	// Schedule is the reverse-diffusion discretisation (default VP, 1000 steps).
	Schedule Schedule
	// Scale is the guidance scale B (published 200; 64 in the Navier–Stokes scripts, 10 for
	// the black hole). Zero is not a default: it means unguided sampling.
	Scale float64
	// MCSamples is the number K of Monte Carlo samples per step (published 5000; 4000 for
	// Navier–Stokes); BatchSize must divide it (published 500).
	MCSamples, BatchSize int
	// Beta is the momentum weight β (published 0.1); RMin the floor of the sampling radius.
	Beta, RMin float64
	// ODE uses the probability-flow step instead of the SDE step.
	ODE bool
	// Seed selects the initial noise, the SDE noise and the Monte Carlo samples.
	Seed uint64
}

// DefaultDPGSettings returns the published defaults (configs/algorithm/dpg.yaml).
func DefaultDPGSettings() DPGSettings {
	return DPGSettings{Members: 1, Schedule: DefaultSchedule(), Scale: 200, MCSamples: 5000, BatchSize: 500, Beta: 0.1}
}

// Validate returns an error describing the first impossible setting.
func (s DPGSettings) Validate() error {
	switch {
	case s.Members < 1:
		return fmt.Errorf("guidance: DPG: %d chains", s.Members)
	case s.MCSamples < 2:
		return fmt.Errorf("guidance: DPG: %d Monte Carlo samples: need at least 2", s.MCSamples)
	case s.BatchSize < 1 || s.MCSamples%s.BatchSize != 0:
		return fmt.Errorf("guidance: DPG: %d Monte Carlo samples are not a multiple of the batch size %d", s.MCSamples, s.BatchSize)
	case !(s.Scale >= 0) || math.IsInf(s.Scale, 0):
		return fmt.Errorf("guidance: DPG: scale %v must be finite and ≥ 0", s.Scale)
	case !(s.Beta >= 0 && s.Beta <= 1):
		return fmt.Errorf("guidance: DPG: β = %v must lie in [0, 1]", s.Beta)
	case !(s.RMin >= 0) || math.IsInf(s.RMin, 0):
		return fmt.Errorf("guidance: DPG: r_min = %v", s.RMin)
	}
	_, err := s.Schedule.discretise()
	return err
}

// DPG is diffusion policy gradient guidance. Per step i and chain, with x̂0 = D(x/s_i; σ_i)
// and the published loss L = ‖G(·) − y‖² (2·Misfit.Loss):
//
//	Z ← 0.9·Z + 0.1·L(x̂0) (Z = L(x̂0) at the first step),  r = max(√(Z/D)/2, r_min),
//	x_k = x̂0 + r·ε_k,  R_k = exp(−(L(x_k) − L(x̂0))/Z),  b_k = (Σ R − R_k)/(K − 1),
//	g = ∇_x mean_k (R_k − b_k)·‖x_k − x̂0‖²/(2r²) = (1/s_i)·J_Dᵀ·(−Σ_k (R_k − b_k)·ε_k/(K·r)),
//	g ← β·β₃·g_prev + (1 − β·β₃)·g (β₃ = (N − i − 1)/N; g_prev the raw gradient of the last step),
//	score = (x̂0 − x/s_i)/σ_i²/s_i − B·g/(‖g‖ + 1e−7),
//
// then the reverse step of Schedule. The Monte Carlo sums are streamed (memory O(D) per
// worker, not K·D); the gradient norm is per chain (the published code runs one chain).
type DPG struct {
	s DPGSettings
	d *discretisation
}

// NewDPG validates s and returns the method.
func NewDPG(s DPGSettings) (*DPG, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	d, _ := s.Schedule.discretise()
	return &DPG{s: s, d: d}, nil
}

// Name returns "DPG".
func (*DPG) Name() string { return "DPG" }

// Needs: a denoiser with vector–Jacobian products; the forward model is a black box.
func (*DPG) Needs() Needs { return Needs{Prior: true, DenoiserVJP: true} }

// Ensemble returns the number of chains.
func (m *DPG) Ensemble() int { return m.s.Members }

// Run samples the chains.
func (m *DPG) Run(ctx context.Context, p *Problem, eng Engine, rec Recorder) (*Result, error) {
	s, dz := m.s, m.d
	run, err := startChains(ctx, p, m, eng, rec, dz, s.Members, s.Seed)
	if err != nil {
		return nil, err
	}
	j, d, om := s.Members, eng.InputDim(), eng.OutputDim()
	mf := p.misfit()
	vjp := p.Prior.(VJPDenoiser)
	c := run.c
	K := s.MCSamples
	gden, g, prev, pred := mat.NewDense(j, d, nil), mat.NewDense(j, d, nil), mat.NewDense(j, d, nil), mat.NewDense(j, om, nil)
	lossRef, z, r := make([]float64, j), make([]float64, j), make([]float64, j)
	rewards := make([]float64, j*K)
	qChunk := min(max(1, s.BatchSize), j*K)
	qx, qy := mat.NewDense(qChunk, d, nil), mat.NewDense(qChunk, om, nil)
	subSeed := rng.Sub(s.Seed, "dpg")
	return run.loop(func(i int, sig, sc float64, info *StepInfo) error {
		info.Guided = true
		if err := eng.Forward(ctx, pred, c.den); err != nil {
			return err
		}
		var sum, max float64
		for a := 0; a < j; a++ {
			lossRef[a] = 2 * mf.Loss(pred.RawRowView(a), p.Observation)
			if i == 0 {
				z[a] = lossRef[a]
			}
			z[a] = 0.9*z[a] + 0.1*lossRef[a]
			r[a] = math.Max(math.Sqrt(z[a]/float64(d))/2, s.RMin)
			sum += lossRef[a] / 2
			max = math.Max(max, lossRef[a]/2)
		}
		info.MisfitMean, info.MisfitMax = sum/float64(j), max
		// The Monte Carlo samples x̂0_a + r_a·ε_k go to the engine as data, BatchSize at a time,
		// all in one round.
		eng.AddSequential(1)
		for q0 := 0; q0 < j*K; q0 += qChunk {
			n := min(qChunk, j*K-q0)
			xq := qx.Slice(0, n, 0, d).(*mat.Dense)
			yq := qy.Slice(0, n, 0, om).(*mat.Dense)
			err := parallel.For(ctx, n, eng.Workers(), func(w, t int) error {
				q := q0 + t
				a, k := q/K, q%K
				rnd := c.draws(w, subSeed, a, i, k)
				x0, xx := c.den.RawRowView(a), xq.RawRowView(t)
				for b := range xx {
					xx[b] = x0[b] + r[a]*rnd.NormFloat64()
				}
				return nil
			})
			if err != nil {
				return err
			}
			if err := eng.ForwardBatch(ctx, yq, xq); err != nil {
				return queryError(err, i, q0, n, K, "forward model (Monte Carlo sample)")
			}
			err = parallel.For(ctx, n, eng.Workers(), func(w, t int) error {
				q := q0 + t
				a := q / K
				rewards[q] = math.Exp(-(2*mf.Loss(yq.RawRowView(t), p.Observation) - lossRef[a]) / z[a])
				return nil
			})
			if err != nil {
				return err
			}
		}
		// ∂(mean_k (R_k − b_k)·mc_loss_k)/∂x̂0 = −Σ_k w_k ε_k/(K·r), w_k = R_k·K/(K−1) − S/(K−1).
		err := parallel.For(ctx, j, eng.Workers(), func(w, a int) error {
			var S float64
			for _, v := range rewards[a*K : (a+1)*K] {
				S += v
			}
			gr := gden.RawRowView(a)
			for b := range gr {
				gr[b] = 0
			}
			kf := float64(K)
			for k := 0; k < K; k++ {
				rnd := c.draws(w, subSeed, a, i, k)
				wk := rewards[a*K+k] - (S-rewards[a*K+k])/(kf-1)
				for b := range gr {
					gr[b] += wk * rnd.NormFloat64()
				}
			}
			f := -1 / (kf * r[a])
			for b := range gr {
				gr[b] *= f
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := eng.DenoiseVJP(ctx, vjp, g, c.xs, gden, sig); err != nil {
			return err
		}
		beta3 := float64(dz.n-i-1) / float64(dz.n)
		err = parallel.For(ctx, j, eng.Workers(), func(w, a int) error {
			gr, pr := g.RawRowView(a), prev.RawRowView(a)
			bb := s.Beta * beta3
			var nn float64
			for b := range gr {
				raw := gr[b] / sc
				v := raw
				if i > 0 {
					v = bb*pr[b] + (1-bb)*raw
				}
				pr[b] = raw
				gr[b] = v
				nn += v * v
			}
			f := -1 / (math.Sqrt(nn) + 1e-7)
			for b := range gr {
				gr[b] *= f
			}
			eps := c.eps[w]
			if !s.ODE {
				for b := range eps {
					eps[b] = c.streams[a].NormFloat64()
				}
			}
			dz.reverseStep(c.x.RawRowView(a), c.xs.RawRowView(a), c.den.RawRowView(a), eps, gr, s.Scale, i, !s.ODE)
			return nil
		})
		if err != nil {
			return err
		}
		return nil
	})
}
