package guidance

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// SCGSettings are the parameters of stochastic control guidance (Huang et al. 2024,
// enkg-pytorch algo/scg.py).
type SCGSettings struct {
	// Members is the number of independent chains (published: 1). Default 1.
	Members int
	// Schedule is the reverse-diffusion discretisation (default VP, 1000 steps).
	Schedule Schedule
	// Candidates is the number K of candidate next states per step (published 512; 1024 for
	// the black hole); BatchSize must divide it (published 64).
	Candidates, BatchSize int
	// Threshold: guidance starts after step ⌊Threshold·N⌋ (published 0.25).
	Threshold float64
	// Seed selects the initial noise, the SDE noise and the candidates.
	Seed uint64
}

// DefaultSCGSettings returns the published defaults (configs/algorithm/scg.yaml).
func DefaultSCGSettings() SCGSettings {
	return SCGSettings{Members: 1, Schedule: DefaultSchedule(), Candidates: 512, BatchSize: 64, Threshold: 0.25}
}

// Validate returns an error describing the first impossible setting.
func (s SCGSettings) Validate() error {
	switch {
	case s.Members < 1:
		return fmt.Errorf("guidance: SCG: %d chains", s.Members)
	case s.Candidates < 1:
		return fmt.Errorf("guidance: SCG: %d candidates", s.Candidates)
	case s.BatchSize < 1 || s.Candidates%s.BatchSize != 0:
		return fmt.Errorf("guidance: SCG: %d candidates are not a multiple of the batch size %d", s.Candidates, s.BatchSize)
	case !(s.Threshold >= 0 && s.Threshold < 1):
		return fmt.Errorf("guidance: SCG: threshold %v must lie in [0, 1)", s.Threshold)
	}
	_, err := s.Schedule.discretise()
	return err
}

// SCG is stochastic control guidance: best-of-K candidates. With T = ⌊Threshold·N⌋, step i
// of a chain is
//
//	i < T:          the unconditional SDE step;
//	T < i < N − 1:  K candidates c_k = x·sf_i + factor_i·score_i + √factor_i·ε_k, scored by
//	                L(D(c_k/s_{i+1}; σ_{i+1})), and x ← the best candidate (first minimum);
//	otherwise:      x ← D(x/s_i; σ_i) (at i = T and at the last step, as published).
//
// It needs only forward evaluations and the denoiser (no gradients).
type SCG struct {
	s SCGSettings
	d *discretisation
}

// NewSCG validates s and returns the method.
func NewSCG(s SCGSettings) (*SCG, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	d, _ := s.Schedule.discretise()
	return &SCG{s: s, d: d}, nil
}

// Name returns "SCG".
func (*SCG) Name() string { return "SCG" }

// Needs: a diffusion prior.
func (*SCG) Needs() Needs { return Needs{Prior: true} }

// Ensemble returns the number of chains.
func (m *SCG) Ensemble() int { return m.s.Members }

// Run samples the chains.
func (m *SCG) Run(ctx context.Context, p *Problem, eng Engine, rec Recorder) (*Result, error) {
	s, dz := m.s, m.d
	run, err := startChains(ctx, p, m, eng, rec, dz, s.Members, s.Seed)
	if err != nil {
		return nil, err
	}
	j, d, om := s.Members, eng.InputDim(), eng.OutputDim()
	mf := p.misfit()
	c := run.c
	K := s.Candidates
	thr := int(float64(dz.n) * s.Threshold)
	cand, candS, candD := mat.NewDense(j*K, d, nil), mat.NewDense(j*K, d, nil), mat.NewDense(j*K, d, nil)
	pred := mat.NewDense(j*K, om, nil)
	loss := make([]float64, j*K)
	subSeed := rng.Sub(s.Seed, "scg")
	return run.loop(func(i int, sig, sc float64, info *StepInfo) error {
		info.MisfitMean, info.MisfitMax = math.NaN(), math.NaN()
		switch {
		case i < thr:
			err := parallel.For(ctx, j, eng.Workers(), func(w, a int) error {
				eps := c.eps[w]
				for b := range eps {
					eps[b] = c.streams[a].NormFloat64()
				}
				dz.reverseStep(c.x.RawRowView(a), c.xs.RawRowView(a), c.den.RawRowView(a), eps, nil, 0, i, true)
				return nil
			})
			if err != nil {
				return err
			}
		case i > thr && i < dz.n-1:
			info.Guided = true
			err := parallel.For(ctx, j*K, eng.Workers(), func(w, q int) error {
				a, k := q/K, q%K
				rnd := c.draws(w, subSeed, a, i, k)
				eps := c.eps[w]
				for b := range eps {
					eps[b] = rnd.NormFloat64()
				}
				row := cand.RawRowView(q)
				copy(row, c.x.RawRowView(a))
				dz.reverseStep(row, c.xs.RawRowView(a), c.den.RawRowView(a), eps, nil, 0, i, true)
				sr := candS.RawRowView(q)
				for b, v := range row {
					sr[b] = v / dz.scale[i+1]
				}
				return nil
			})
			if err != nil {
				return err
			}
			if err := eng.Denoise(ctx, p.Prior, candD, candS, dz.sigma[i+1]); err != nil {
				return err
			}
			if err := eng.Forward(ctx, pred, candD); err != nil {
				return err
			}
			var sum, max float64
			for a := 0; a < j; a++ {
				best := -1
				for k := 0; k < K; k++ {
					q := a*K + k
					loss[q] = mf.Loss(pred.RawRowView(q), p.Observation)
					if best < 0 || loss[q] < loss[a*K+best] {
						best = k
					}
				}
				copy(c.x.RawRowView(a), cand.RawRowView(a*K+best))
				sum += loss[a*K+best]
				max = math.Max(max, loss[a*K+best])
			}
			info.MisfitMean, info.MisfitMax = sum/float64(j), max
		default:
			c.x.Copy(c.den)
		}
		return nil
	})
}
