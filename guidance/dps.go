package guidance

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// GradientEstimate selects how DPS obtains ∇_{x̂0} L of the published loss
// L(x̂0) = ‖G(x̂0) − y‖² (= 2·Misfit.Loss, so the sum of squares for the default misfit).
type GradientEstimate int

const (
	// Exact uses the adjoint: ∇L = 2·Aᵀ·∂Misfit/∂y (DPS; needs operator.Adjointer), or
	// J_G(x̂0)ᵀ for a nonlinear model with operator.VJPer on a VJPEngine.
	Exact GradientEstimate = iota
	// ForwardGSG is the forward Gaussian-smoothed estimate
	// ĝ = Σ_k u_k·(L(x̂0 + μu_k) − L(x̂0))/(μ·S), S = ⌊Q/B⌋·B queries u_k ~ N(0, I).
	ForwardGSG
	// CentralGSG is the central estimate ĝ = Σ_k u_k·(L(x̂0 + μu_k) − L(x̂0 − μu_k))/(2μS),
	// S = ⌊Q/(2B)⌋·B (2S forward evaluations).
	CentralGSG
)

// String returns the method name of the estimate.
func (g GradientEstimate) String() string {
	switch g {
	case Exact:
		return "DPS"
	case ForwardGSG:
		return "forward-GSG"
	case CentralGSG:
		return "central-GSG"
	}
	return fmt.Sprintf("GradientEstimate(%d)", int(g))
}

// DPSSettings are the parameters of diffusion posterior sampling (Chung et al. 2023) with
// exact or Gaussian-smoothed gradients (InverseBench algo/dps.py, enkg-pytorch
// algo/dps_gsg.py).
type DPSSettings struct {
	// Members is the number of independent chains (published: num_samples = 1). Default 1.
	Members int
	// Schedule is the reverse-diffusion discretisation (default DefaultSchedule: VP, 1000).
	Schedule Schedule
	// Scale is the guidance scale ζ [guidance_scale]: x ← x − ζ·∇_x ‖G(x̂0(x)) − y‖.
	// Published: 0.01 (configs/algorithm/dps_gsg.yaml), 0.1 in the Navier–Stokes scripts.
	// Zero is not a default: it means unguided sampling (the tests' baseline).
	Scale float64
	// ODE uses the probability-flow step instead of the SDE step [sde = False].
	ODE bool
	// Gradient selects the gradient (DPS exact, forward-GSG, central-GSG).
	Gradient GradientEstimate
	// Queries Q and BatchSize B set the GSG sample size (published 1024 and 512).
	Queries, BatchSize int
	// Mu is the GSG smoothing radius μ (published 0.01).
	Mu float64
	// Seed selects the initial noise, the SDE noise and the GSG directions.
	Seed uint64
}

// DefaultDPSSettings returns the published DPS-GSG defaults (central, Q = 1024, B = 512,
// μ = 0.01, scale 0.01, VP schedule with 1000 SDE steps, one chain).
func DefaultDPSSettings() DPSSettings {
	return DPSSettings{Members: 1, Schedule: DefaultSchedule(), Scale: 0.01, Gradient: CentralGSG,
		Queries: 1024, BatchSize: 512, Mu: 0.01}
}

// samples returns the number S of GSG directions.
func (s DPSSettings) samples() int {
	switch s.Gradient {
	case ForwardGSG:
		return s.Queries / s.BatchSize * s.BatchSize
	case CentralGSG:
		return s.Queries / (2 * s.BatchSize) * s.BatchSize
	}
	return 0
}

// Validate returns an error describing the first impossible setting.
func (s DPSSettings) Validate() error {
	switch {
	case s.Members < 1:
		return fmt.Errorf("guidance: %v: %d chains", s.Gradient, s.Members)
	case !(s.Scale >= 0) || math.IsInf(s.Scale, 0):
		return fmt.Errorf("guidance: %v: scale %v must be finite and ≥ 0", s.Gradient, s.Scale)
	case s.Gradient < Exact || s.Gradient > CentralGSG:
		return fmt.Errorf("guidance: unknown gradient estimate %d", int(s.Gradient))
	}
	if s.Gradient != Exact {
		if s.BatchSize < 1 || s.samples() < 1 {
			return fmt.Errorf("guidance: %v: %d queries in batches of %d give no sample", s.Gradient, s.Queries, s.BatchSize)
		}
		if !(s.Mu > 0) || math.IsInf(s.Mu, 0) {
			return fmt.Errorf("guidance: %v: smoothing μ = %v must be positive", s.Gradient, s.Mu)
		}
	}
	if _, err := s.Schedule.discretise(); err != nil {
		return err
	}
	return nil
}

// DPS is diffusion posterior sampling with exact (DPS) or Gaussian-smoothed (forward-GSG,
// central-GSG: derivative-free) gradients. Per step i, with x̂0 = D(x/s_i; σ_i),
//
//	g = ∇_{x̂0} L,  ℓ = (1/s_i)·J_Dᵀ·g·½/√L(x̂0)   (= ∇_x ‖G(x̂0(x)) − y‖),
//	x ← reverse step of Schedule,  x ← x − ζ·ℓ.
//
// The Jacobian J_D of the denoiser comes from a VJPDenoiser (autograd in the published code).
// A chain whose misfit is exactly 0 is not guided (the published ½/√L would be infinite).
type DPS struct {
	s DPSSettings
	d *discretisation
}

// NewDPS validates s and returns the method.
func NewDPS(s DPSSettings) (*DPS, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	d, _ := s.Schedule.discretise()
	return &DPS{s: s, d: d}, nil
}

// Name returns DPS, forward-GSG or central-GSG.
func (m *DPS) Name() string { return m.s.Gradient.String() }

// Needs: a denoiser with vector–Jacobian products, and the adjoint for exact gradients.
func (m *DPS) Needs() Needs {
	return Needs{Prior: true, DenoiserVJP: true, Adjoint: m.s.Gradient == Exact}
}

// Ensemble returns the number of chains.
func (m *DPS) Ensemble() int { return m.s.Members }

// chains holds what every single-chain baseline needs.
type chains struct {
	x, xs, den *mat.Dense
	streams    []*rand.Rand // member j's stream: initial noise, SDE noise
	eps        [][]float64  // per worker
	pcg        []*rand.PCG  // per worker, re-seeded per (member, step, draw)
	rnd        []*rand.Rand
}

func newChains(j, d, workers int, seed uint64, sigmaInit float64) *chains {
	c := &chains{x: mat.NewDense(j, d, nil), xs: mat.NewDense(j, d, nil), den: mat.NewDense(j, d, nil),
		streams: make([]*rand.Rand, j), eps: make([][]float64, workers), pcg: make([]*rand.PCG, workers), rnd: make([]*rand.Rand, workers)}
	for i := range c.streams {
		c.streams[i] = rng.Stream(seed, i)
		row := c.x.RawRowView(i)
		for k := range row {
			row[k] = sigmaInit * c.streams[i].NormFloat64()
		}
	}
	for w := range c.eps {
		c.eps[w] = make([]float64, d)
		c.pcg[w] = rand.NewPCG(0, 0)
		c.rnd[w] = rand.New(c.pcg[w])
	}
	return c
}

// draws re-seeds worker w's generator for draw k of member j at step i, so that every draw
// depends only on (seed, j, i, k), never on the worker.
func (c *chains) draws(w int, seed uint64, j, i, k int) *rand.Rand {
	c.pcg[w].Seed(mix(seed^mix(uint64(j)+1)), mix(uint64(i)<<32^uint64(k)^mix(seed+uint64(j))))
	return c.rnd[w]
}

// mix is the SplitMix64 finaliser.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Run samples the chains.
func (m *DPS) Run(ctx context.Context, p *Problem, eng Engine, rec Recorder) (*Result, error) {
	s, dz := m.s, m.d
	run, err := startChains(ctx, p, m, eng, rec, dz, s.Members, s.Seed)
	if err != nil {
		return nil, err
	}
	j, d, om := s.Members, eng.InputDim(), eng.OutputDim()
	mf := p.misfit()
	vjp := p.Prior.(VJPDenoiser)
	c := run.c
	g, ll := mat.NewDense(j, d, nil), mat.NewDense(j, d, nil)
	pred, resid := mat.NewDense(j, om, nil), mat.NewDense(j, om, nil)
	loss := make([]float64, j)
	ns := s.samples()
	coef := make([]float64, j*ns)
	workers := eng.Workers()
	u := make([][]float64, workers)
	for w := range u {
		u[w] = make([]float64, d)
	}
	// GSG query chunks: BatchSize queries (central: twice the rows).
	central := s.Gradient == CentralGSG
	qChunk := min(max(1, s.BatchSize), j*ns)
	var qx, qy *mat.Dense
	if s.Gradient != Exact {
		rows := qChunk
		if central {
			rows *= 2
		}
		qx, qy = mat.NewDense(rows, d, nil), mat.NewDense(rows, om, nil)
	}
	subSeed := rng.Sub(s.Seed, "gsg")
	return run.loop(func(i int, sig, sc float64, info *StepInfo) error {
		info.Guided = true
		// Loss at x̂0 (and the exact gradient's residual).
		if err := eng.Forward(ctx, pred, c.den); err != nil {
			return err
		}
		var sum, max float64
		for r := 0; r < j; r++ {
			loss[r] = 2 * mf.Loss(pred.RawRowView(r), p.Observation)
			sum += loss[r] / 2
			max = math.Max(max, loss[r]/2)
			if s.Gradient == Exact {
				rr := resid.RawRowView(r)
				mf.Gradient(rr, pred.RawRowView(r), p.Observation)
				for k := range rr {
					rr[k] *= 2
				}
			}
		}
		info.MisfitMean, info.MisfitMax = sum/float64(j), max
		if s.Gradient == Exact {
			var err error
			if eng.HasAdjoint() {
				err = eng.Adjoint(ctx, g, resid)
			} else if ve, ok := eng.(VJPEngine); ok {
				err = ve.VJP(ctx, g, c.den, resid) // J_G(x̂0)ᵀ for nonlinear models
			} else {
				err = ErrNoAdjoint
			}
			if err != nil {
				return err
			}
		} else {
			// The queries x̂0_r ± μ·u_k go to the engine as data, BatchSize queries at a time
			// (rows [0, n) of a chunk: x̂0 + μu; central: rows [n, 2n) x̂0 − μu), all in one round.
			eng.AddSequential(1)
			for q0 := 0; q0 < j*ns; q0 += qChunk {
				n := min(qChunk, j*ns-q0)
				rows := n
				if central {
					rows = 2 * n
				}
				xq := qx.Slice(0, rows, 0, d).(*mat.Dense)
				yq := qy.Slice(0, rows, 0, om).(*mat.Dense)
				err := parallel.For(ctx, n, eng.Workers(), func(w, t int) error {
					q := q0 + t
					r, k := q/ns, q%ns
					rnd := c.draws(w, subSeed, r, i, k)
					x0, xx := c.den.RawRowView(r), xq.RawRowView(t)
					var xm []float64
					if central {
						xm = xq.RawRowView(n + t)
					}
					for a := range xx {
						ua := rnd.NormFloat64()
						xx[a] = x0[a] + s.Mu*ua
						if central {
							xm[a] = x0[a] - s.Mu*ua
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
				if err := eng.ForwardBatch(ctx, yq, xq); err != nil {
					return queryError(err, i, q0, n, ns, "forward model (GSG query)")
				}
				err = parallel.For(ctx, n, eng.Workers(), func(w, t int) error {
					q := q0 + t
					lp := 2 * mf.Loss(yq.RawRowView(t), p.Observation)
					if central {
						coef[q] = (lp - 2*mf.Loss(yq.RawRowView(n+t), p.Observation)) / (s.Mu * float64(ns) * 2)
					} else {
						coef[q] = (lp - loss[q/ns]) / (s.Mu * float64(ns))
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			// ĝ_r = Σ_k coef_k·u_k, the directions regenerated in a fixed order.
			err = parallel.For(ctx, j, eng.Workers(), func(w, r int) error {
				gr := g.RawRowView(r)
				for a := range gr {
					gr[a] = 0
				}
				uu := u[w]
				for k := 0; k < ns; k++ {
					rnd := c.draws(w, subSeed, r, i, k)
					ck := coef[r*ns+k]
					for a := range uu {
						gr[a] += rnd.NormFloat64() * ck
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if err := eng.DenoiseVJP(ctx, vjp, ll, c.xs, g, sig); err != nil {
			return err
		}
		err := parallel.For(ctx, j, eng.Workers(), func(w, r int) error {
			eps := c.eps[w]
			if !s.ODE {
				for a := range eps {
					eps[a] = c.streams[r].NormFloat64()
				}
			}
			x := c.x.RawRowView(r)
			dz.reverseStep(x, c.xs.RawRowView(r), c.den.RawRowView(r), eps, nil, 0, i, !s.ODE)
			if loss[r] > 0 {
				f := s.Scale * 0.5 / math.Sqrt(loss[r]) / sc
				for a, v := range ll.RawRowView(r) {
					x[a] -= f * v
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return nil
	})
}
