package guidance

import (
	"context"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
)

// EKISettings are the parameters of ensemble Kalman inversion (published code: algo/eki.py).
type EKISettings struct {
	// Members is the ensemble size J [num_samples]; at least 2. Default 512.
	Members int
	// Iterations is the number of Kalman updates [num_updates]; at least 1. Default 500.
	Iterations int
	// Scale is the step scale [guidance_scale]; the step is scale/‖C‖_F. Default 2; zero is
	// rejected (the ensemble would never move from its prior draws).
	Scale float64
	// Discrepancy τ > 0 stops the iteration (the discrepancy principle, noise-aware) once the
	// mean misfit of the ensemble is at most τ·M/2 (M data; M/2 is the Gaussian misfit's
	// expected value at the truth when its σ is the noise level). 0 (default): the published
	// fixed number of iterations.
	Discrepancy float64
	// Seed selects the initial prior samples (member j uses rng.Stream(Seed, j)).
	Seed uint64
	// Init, when non-nil, is the initial ensemble (J×D) instead of prior samples.
	Init *mat.Dense
}

// DefaultEKISettings returns the published defaults (configs/algorithm/eki.yaml): J = 512,
// 500 iterations, scale 2.
func DefaultEKISettings() EKISettings {
	return EKISettings{Members: 512, Iterations: 500, Scale: 2}
}

// Validate returns an error describing the first impossible setting.
func (s EKISettings) Validate() error {
	switch {
	case s.Members < 2:
		return fmt.Errorf("guidance: EKI: ensemble size J = %d: need at least 2 members", s.Members)
	case s.Iterations < 1:
		return fmt.Errorf("guidance: EKI: %d iterations: need at least 1", s.Iterations)
	case !(s.Scale > 0) || math.IsInf(s.Scale, 0):
		return fmt.Errorf("guidance: EKI: scale %v must be finite and > 0 (published 2)", s.Scale)
	case !(s.Discrepancy >= 0) || math.IsInf(s.Discrepancy, 0):
		return fmt.Errorf("guidance: EKI: discrepancy τ = %v must be finite and ≥ 0", s.Discrepancy)
	}
	if s.Init != nil {
		if r, _ := s.Init.Dims(); r != s.Members {
			return fmt.Errorf("guidance: EKI: initial ensemble has %d rows, J = %d", r, s.Members)
		}
	}
	return nil
}

// EKI is ensemble Kalman inversion (Iglesias, Law, Stuart 2013) as the EnKG paper runs it:
// J samples of a prior, then Iterations times X ← X − (scale/‖C‖_F)·C·(X − X̄) with the
// ensemble Kalman update of Kalman (the same kernel as EnKG, with Y = G(X)). It needs a prior
// Sampler (or Init), no diffusion model.
type EKI struct{ s EKISettings }

// NewEKI validates s and returns the method.
func NewEKI(s EKISettings) (*EKI, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &EKI{s: s}, nil
}

// Name returns "EKI".
func (*EKI) Name() string { return "EKI" }

// Needs returns a prior sampler unless an initial ensemble is given.
func (m *EKI) Needs() Needs { return Needs{Sampler: m.s.Init == nil} }

// Ensemble returns J.
func (m *EKI) Ensemble() int { return m.s.Members }

// Run iterates the ensemble Kalman updates.
func (m *EKI) Run(ctx context.Context, p *Problem, eng Engine, rec Recorder) (*Result, error) {
	if err := Check(p, m, eng); err != nil {
		return nil, err
	}
	if rec == nil {
		rec = NopRecorder{}
	}
	start := time.Now()
	s := m.s
	j, d, om := s.Members, eng.InputDim(), eng.OutputDim()
	kal, err := NewKalman(j, d, om)
	if err != nil {
		return nil, err
	}
	x, y, e := mat.NewDense(j, d, nil), mat.NewDense(j, om, nil), mat.NewDense(j, om, nil)
	loss, mean := make([]float64, j), make([]float64, d)
	if s.Init != nil {
		if _, c := s.Init.Dims(); c != d {
			return nil, fmt.Errorf("guidance: EKI: initial ensemble has %d columns, the forward model takes %d", c, d)
		}
		x.Copy(s.Init)
	} else if err := p.Sampler.Sample(ctx, x, s.Seed); err != nil {
		return nil, fmt.Errorf("guidance: EKI: sampling the prior: %w", err)
	}
	partial := func(steps int, err error) (*Result, error) {
		return newResult(m.Name(), x, eng.Counts(), steps, time.Since(start)), err
	}
	for it := 0; it < s.Iterations; it++ {
		info := StepInfo{Method: m.Name(), Step: it, Steps: s.Iterations, Guided: true}
		if err := eng.Forward(ctx, y, x); err != nil {
			if ctx.Err() != nil {
				return partial(it, ctx.Err())
			}
			return partial(it, fmt.Errorf("guidance: EKI iteration %d: %w", it, atStep(err, it)))
		}
		misfitGradients(p, e, y, loss, &info)
		if s.Discrepancy > 0 && info.MisfitMean <= s.Discrepancy*float64(om)/2 {
			info.Counts = eng.Counts()
			if err := rec.Record(info); err != nil {
				return partial(it+1, fmt.Errorf("guidance: EKI: recorder: %w", err))
			}
			return partial(it+1, nil) // fitted to the noise level: stop
		}
		step := kal.Update(x, y, e, s.Scale)
		info.StepSize = step.Step
		info.Spread = spread(x, mean)
		info.Counts = eng.Counts()
		if err := rec.Record(info); err != nil {
			return partial(it+1, fmt.Errorf("guidance: EKI: recorder: %w", err))
		}
	}
	return partial(s.Iterations, nil)
}
