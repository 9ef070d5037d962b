package guidance

import (
	"context"
	"fmt"
	"math"

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
	// Localization c > 0 localizes the Kalman update (Gaspari–Cohn half-width c in the units
	// of the problem's Locality; Kalman.Localize, Tong and Morzfeld 2023). 0 (default): the
	// published, unlocalized update.
	Localization float64
	// Seed selects the initial prior samples (member j uses rng.Stream(Seed, j)).
	Seed uint64
	// Init, when non-nil, is the initial ensemble (J×D) instead of prior samples.
	Init *mat.Dense
	// OnMemberFailure is what a failed forward evaluation of a member does: stop the run
	// (FailError, default) or redraw the member (FailResample, EnsembleKalmanProcesses.jl's
	// SampleSuccGauss; see FailurePolicy).
	OnMemberFailure FailurePolicy
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
	case !(s.Localization >= 0) || math.IsInf(s.Localization, 0):
		return fmt.Errorf("guidance: EKI: localization radius %v must be finite and ≥ 0", s.Localization)
	case !(s.Discrepancy >= 0) || math.IsInf(s.Discrepancy, 0):
		return fmt.Errorf("guidance: EKI: discrepancy τ = %v must be finite and ≥ 0", s.Discrepancy)
	}
	if err := s.OnMemberFailure.validate(); err != nil {
		return fmt.Errorf("guidance: EKI: %v", err)
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
	return m.RunFrom(ctx, p, eng, rec, nil, nil)
}

// RunFrom is Run continued from a checkpoint (nil: the start), saving one after every
// iteration (see Resumable). The ensemble is all the state there is: the prior samples are
// the only randomness (and the redraws of FailResample, keyed by iteration).
func (m *EKI) RunFrom(ctx context.Context, p *Problem, eng Engine, rec Recorder, from *Checkpoint, save func(*Checkpoint) error) (*Result, error) {
	if err := Check(p, m, eng); err != nil {
		return nil, err
	}
	if rec == nil {
		rec = NopRecorder{}
	}
	s := m.s
	j, d, om := s.Members, eng.InputDim(), eng.OutputDim()
	if from != nil {
		if err := from.check(m.Name(), s.Iterations, j, d); err != nil {
			return nil, err
		}
	}
	ses := newSession(eng, from)
	kal, err := NewKalman(j, d, om)
	if err != nil {
		return nil, err
	}
	if err := kal.Localize(p.Locality, s.Localization); err != nil {
		return nil, fmt.Errorf("guidance: EKI: %w", err)
	}
	x, y, e := mat.NewDense(j, d, nil), mat.NewDense(j, om, nil), mat.NewDense(j, om, nil)
	loss, mean := make([]float64, j), make([]float64, d)
	var errs []error
	if s.OnMemberFailure == FailResample {
		errs = make([]error, j)
	}
	first := 0
	switch {
	case from != nil:
		x.Copy(from.Ensemble)
		first = from.Step
		if from.Done {
			return newResult(m.Name(), x, ses.counts(), from.Step, ses.elapsed()), nil
		}
	case s.Init != nil:
		if _, c := s.Init.Dims(); c != d {
			return nil, fmt.Errorf("guidance: EKI: initial ensemble has %d columns, the forward model takes %d", c, d)
		}
		x.Copy(s.Init)
	default:
		if err := p.Sampler.Sample(ctx, x, s.Seed); err != nil {
			return nil, fmt.Errorf("guidance: EKI: sampling the prior: %w", err)
		}
	}
	partial := func(steps int, err error) (*Result, error) {
		return newResult(m.Name(), x, ses.counts(), steps, ses.elapsed()), err
	}
	// finish checkpoints and records iteration it (done: the run stops after it).
	finish := func(it int, info StepInfo, done bool) error {
		info.Counts = ses.counts()
		if save != nil {
			cp := &Checkpoint{Method: m.Name(), Step: it + 1, Steps: s.Iterations, Done: done || it+1 == s.Iterations,
				Ensemble: x, Counts: info.Counts, Wall: ses.elapsed()}
			if err := save(cp); err != nil {
				return fmt.Errorf("guidance: EKI: checkpoint after iteration %d: %w", it, err)
			}
		}
		if err := rec.Record(info); err != nil {
			return fmt.Errorf("guidance: EKI: recorder: %w", err)
		}
		return nil
	}
	for it := first; it < s.Iterations; it++ {
		info := StepInfo{Method: m.Name(), Step: it, Steps: s.Iterations, Guided: true}
		nfail, err := forwardTolerant(ctx, eng, s.OnMemberFailure, y, x, errs)
		if err != nil {
			if ctx.Err() != nil {
				return partial(it, ctx.Err())
			}
			return partial(it, fmt.Errorf("guidance: EKI iteration %d: %w", it, atStep(err, it)))
		}
		stop := false
		if nfail > 0 {
			info.Failed = nfail
			sv, err := newSurvivors(x, y, errs)
			if err != nil {
				return partial(it, fmt.Errorf("guidance: EKI iteration %d: %w", it, atStep(err, it)))
			}
			sv.misfit(p, &info)
			stop = s.Discrepancy > 0 && info.MisfitMean <= s.Discrepancy*float64(om)/2
			if !stop {
				step, err := sv.update(s.Scale, p.Locality, s.Localization)
				if err != nil {
					return partial(it, fmt.Errorf("guidance: EKI iteration %d: %w", it, err))
				}
				info.StepSize = step.Step
			}
			sv.finish(x, resampleSeed(s.Seed, it, 0))
		} else {
			misfitGradients(p, e, y, loss, &info)
			stop = s.Discrepancy > 0 && info.MisfitMean <= s.Discrepancy*float64(om)/2
			if !stop {
				step := kal.Update(x, y, e, s.Scale)
				info.StepSize = step.Step
			}
		}
		if stop { // fitted to the noise level: stop
			if err := finish(it, info, true); err != nil {
				return partial(it+1, err)
			}
			return partial(it+1, nil)
		}
		info.Spread = spread(x, mean)
		if err := finish(it, info, false); err != nil {
			return partial(it+1, err)
		}
	}
	return partial(s.Iterations, nil)
}
