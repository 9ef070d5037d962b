package guidance

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// EnKGSettings are the parameters of Ensemble Kalman Diffusion Guidance. The names in
// brackets are those of the published code (devzhk/enkg-pytorch, algo/enkg.py).
type EnKGSettings struct {
	// Members is the ensemble size J [num_samples]; at least 2. Default 1024.
	Members int
	// Steps is the number N of sampling steps [num_steps]; at least 2. Default 80.
	Steps int
	// Updates is the number of ensemble Kalman updates per guided step [num_updates]. 0 turns
	// EnKG into plain probability-flow ODE sampling. Default 1.
	Updates int
	// Scale is the guidance scale [guidance_scale]: the step is scale_i/‖C‖_F. Default 2.
	// Zero is rejected when Updates > 0 (an update of size 0 spends forward evaluations for
	// nothing); set Updates to 0 for unguided sampling.
	Scale float64
	// SigmaMax, SigmaMin and Rho define the Karras schedule [sigma_max, sigma_min, rho].
	// Defaults 80, 0.002, 7.
	SigmaMax, SigmaMin, Rho float64
	// ThresholdStart and ThresholdEnd bound the guided steps: step i is guided when
	// start·N < i < N − ⌊end·N⌋ [threshold_start, threshold_end]. In [0, 1); 0 is a value
	// (no step skipped at that end), not a default. DefaultEnKGSettings: 0.1, 0.1.
	ThresholdStart, ThresholdEnd float64
	// LRMinRatio r sets scale_i = scale·(1 − r)·(N − i)/N + r when r > 0, and scale_i = scale
	// when r = 0 [lr_min_ratio]. In [0, 1]. Default 0.
	LRMinRatio float64
	// ODESigmaMin is the last nonzero noise level of the inner ODE that predicts x̂0
	// [sigma_eps of ode_sampler]. Default 0.002.
	ODESigmaMin float64
	// MaxODESteps caps k = min(1 + ⌊(N − i)/4⌋, MaxODESteps). Default 20.
	MaxODESteps int
	// Float32Schedule computes the noise levels and their differences with the float32
	// arithmetic of the published code (torch.arange(..., dtype=float32)); the float64 schedule
	// differs from it by about 1e-7 relative. Default false.
	Float32Schedule bool
	// Discrepancy τ > 0 makes the step noise-aware (the discrepancy principle): a Kalman
	// update is skipped when the mean misfit of the ensemble's predictions is at most τ·M/2
	// (M data; for the Gaussian misfit with the true noise σ, M/2 is the misfit's expected
	// value at the truth), so the ensemble stops fitting the noise. The forward evaluations
	// of that update are still spent and counted. 0 (default): the published algorithm.
	Discrepancy float64
	// Localization c > 0 localizes the Kalman update with a Gaspari–Cohn taper of half-width
	// c (support 2c) in the units of the problem's Locality (Kalman.Localize); not part of
	// the published algorithm. 0 (default): the published, unlocalized update.
	Localization float64
	// Seed selects the initial ensemble σ_max·N(0, I) (member j uses rng.Stream(Seed, j)).
	Seed uint64
	// Init, when non-nil, is the initial ensemble (J×D) instead of random draws; it is not
	// modified.
	Init *mat.Dense
	// OnMemberFailure is what a failed forward evaluation of a member does: stop the run
	// (FailError, default) or redraw the member (FailResample, EnsembleKalmanProcesses.jl's
	// SampleSuccGauss; see FailurePolicy).
	OnMemberFailure FailurePolicy
}

// GuidedSteps returns the number of guided steps, those i with start·N < i < N − ⌊end·N⌋.
func (s EnKGSettings) GuidedSteps() int {
	g := 0
	for i := 0; i < s.Steps; i++ {
		if guided(i, s.Steps, s.ThresholdStart, s.ThresholdEnd) {
			g++
		}
	}
	return g
}

// ForwardBudget returns the forward-model evaluations a run makes, known before the run:
// J·Updates·(guided steps). EKI with J members and ForwardBudget/J iterations spends the same.
func (s EnKGSettings) ForwardBudget() int64 {
	return int64(s.Members) * int64(s.Updates) * int64(s.GuidedSteps())
}

// DefaultEnKGSettings returns the documented defaults.
func DefaultEnKGSettings() EnKGSettings {
	return EnKGSettings{Members: 1024, Steps: 80, Updates: 1, Scale: 2, SigmaMax: 80, SigmaMin: 0.002, Rho: 7,
		ThresholdStart: 0.1, ThresholdEnd: 0.1, ODESigmaMin: 0.002, MaxODESteps: 20}
}

// EnKGNavierStokes returns the published Navier–Stokes settings: J = 2048, N = 80, 2 updates,
// scale 2.0, start = end = 0.05, constant scale.
func EnKGNavierStokes() EnKGSettings {
	s := DefaultEnKGSettings()
	s.Members, s.Updates, s.Scale, s.ThresholdStart, s.ThresholdEnd, s.LRMinRatio = 2048, 2, 2.0, 0.05, 0.05, 0
	return s
}

// EnKGBlackHole returns the published black-hole settings: J = 1024, N = 80, 1 update,
// scale 3.5, start = end = 0.1, lr_min_ratio 1e-3.
func EnKGBlackHole() EnKGSettings {
	s := DefaultEnKGSettings()
	s.Members, s.Updates, s.Scale, s.ThresholdStart, s.ThresholdEnd, s.LRMinRatio = 1024, 1, 3.5, 0.1, 0.1, 1e-3
	return s
}

// Validate returns an error describing the first impossible setting.
func (s EnKGSettings) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("guidance: EnKG: "+f, a...) }
	switch {
	case s.Members < 2:
		return bad("ensemble size J = %d: need at least 2 members", s.Members)
	case s.Steps < 2:
		return bad("%d sampling steps: need at least 2", s.Steps)
	case s.Updates < 0:
		return bad("%d updates per step", s.Updates)
	case !(s.Scale >= 0) || math.IsInf(s.Scale, 0):
		return bad("guidance scale %v must be finite and ≥ 0", s.Scale)
	case s.Scale == 0 && s.Updates > 0:
		return bad("guidance scale 0 with %d updates per step: set a scale (published 2) or Updates 0 for unguided sampling", s.Updates)
	case !(s.Discrepancy >= 0) || math.IsInf(s.Discrepancy, 0):
		return bad("discrepancy τ = %v must be finite and ≥ 0", s.Discrepancy)
	case !(s.Localization >= 0) || math.IsInf(s.Localization, 0):
		return bad("localization radius %v must be finite and ≥ 0", s.Localization)
	case !(s.ThresholdStart >= 0 && s.ThresholdStart < 1), !(s.ThresholdEnd >= 0 && s.ThresholdEnd < 1):
		return bad("thresholds start = %v, end = %v must lie in [0, 1)", s.ThresholdStart, s.ThresholdEnd)
	case !(s.LRMinRatio >= 0 && s.LRMinRatio <= 1):
		return bad("lr_min_ratio %v must lie in [0, 1]", s.LRMinRatio)
	case !(s.ODESigmaMin > 0) || math.IsInf(s.ODESigmaMin, 0):
		return bad("ODE σ_min %v must be positive", s.ODESigmaMin)
	case s.MaxODESteps < 1:
		return bad("max ODE steps %d must be ≥ 1", s.MaxODESteps)
	}
	if err := checkSchedule(s.SigmaMin, s.SigmaMax, s.Rho); err != nil {
		return bad("%v", err)
	}
	if err := s.OnMemberFailure.validate(); err != nil {
		return bad("%v", err)
	}
	if s.Init != nil {
		if r, _ := s.Init.Dims(); r != s.Members {
			return bad("initial ensemble has %d rows, J = %d", r, s.Members)
		}
	}
	return nil
}

// EnKG is Ensemble Kalman Diffusion Guidance (Zheng et al. 2024) as the published code runs
// it; see the package documentation for the equations.
type EnKG struct {
	s EnKGSettings
}

// NewEnKG validates s and returns the method.
func NewEnKG(s EnKGSettings) (*EnKG, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &EnKG{s: s}, nil
}

// Name returns "EnKG".
func (*EnKG) Name() string { return "EnKG" }

// Needs returns what EnKG needs: a diffusion prior and a forward model (no gradients).
func (*EnKG) Needs() Needs { return Needs{Prior: true} }

// Ensemble returns J.
func (m *EnKG) Ensemble() int { return m.s.Members }

// Settings returns the settings.
func (m *EnKG) Settings() EnKGSettings { return m.s }

// Sigmas returns the N+1 noise levels of the run (σ_N = 0), from diffusion.Karras.
func (m *EnKG) Sigmas() []float64 {
	s := m.s
	sig, err := diffusion.Karras{SigmaMin: s.SigmaMin, SigmaMax: s.SigmaMax, Rho: s.Rho, Float32: s.Float32Schedule}.AppendSigmas(nil, s.Steps)
	if err != nil { // settings were validated
		panic(err)
	}
	return sig
}

// GuidanceScale returns scale_i of step i.
func (m *EnKG) GuidanceScale(i int) float64 {
	s := m.s
	if s.LRMinRatio > 0 {
		return s.Scale*(1-s.LRMinRatio)*float64(s.Steps-i)/float64(s.Steps) + s.LRMinRatio
	}
	return s.Scale
}

// enkgState is the workspace of a run: sized once, no allocation per step.
type enkgState struct {
	x, x0, den *mat.Dense // J×D
	y, e       *mat.Dense // J×M
	kal        *Kalman
	ode        *diffusion.ODEToZero
	prior      diffusion.Denoiser // the prior evaluated through the engine
	mean       []float64
	loss       []float64
	errs       []error // per-member failures (FailResample)
}

// Run samples the ensemble. With a trace function (see RunTrace) it reports the particles
// after each guided step's updates.
func (m *EnKG) Run(ctx context.Context, p *Problem, eng Engine, rec Recorder) (*Result, error) {
	return m.run(ctx, p, eng, rec, nil, nil, nil)
}

// RunTrace is Run with a callback called after the guidance updates of each guided step i,
// before its Euler move, with the particles (J×D, valid only during the call).
func (m *EnKG) RunTrace(ctx context.Context, p *Problem, eng Engine, rec Recorder, trace func(i int, x *mat.Dense)) (*Result, error) {
	return m.run(ctx, p, eng, rec, trace, nil, nil)
}

// RunFrom is Run continued from a checkpoint (nil: the start), saving one after every
// sampling step (see Resumable). The particles after step i are all the state there is: the
// initial draws are the only randomness (and the redraws of FailResample, keyed by step).
func (m *EnKG) RunFrom(ctx context.Context, p *Problem, eng Engine, rec Recorder, from *Checkpoint, save func(*Checkpoint) error) (*Result, error) {
	return m.run(ctx, p, eng, rec, nil, from, save)
}

func (m *EnKG) run(ctx context.Context, p *Problem, eng Engine, rec Recorder, trace func(int, *mat.Dense), from *Checkpoint, save func(*Checkpoint) error) (*Result, error) {
	if err := Check(p, m, eng); err != nil {
		return nil, err
	}
	if rec == nil {
		rec = NopRecorder{}
	}
	s := m.s
	j, d, om := s.Members, eng.InputDim(), eng.OutputDim()
	if s.Init != nil {
		if _, c := s.Init.Dims(); c != d {
			return nil, fmt.Errorf("guidance: EnKG: initial ensemble has %d columns, the forward model takes %d", c, d)
		}
	}
	if from != nil {
		if err := from.check(m.Name(), s.Steps, j, d); err != nil {
			return nil, err
		}
	}
	ses := newSession(eng, from)
	kal, err := NewKalman(j, d, om)
	if err != nil {
		return nil, err
	}
	if err := kal.Localize(p.Locality, s.Localization); err != nil {
		return nil, fmt.Errorf("guidance: EnKG: %w", err)
	}
	st := &enkgState{
		x: mat.NewDense(j, d, nil), x0: mat.NewDense(j, d, nil), den: mat.NewDense(j, d, nil),
		y: mat.NewDense(j, om, nil), e: mat.NewDense(j, om, nil), kal: kal,
		ode:   &diffusion.ODEToZero{SigmaMin: s.ODESigmaMin, Rho: s.Rho, Float32: s.Float32Schedule, Workers: eng.Workers()},
		prior: engineDenoiser{eng: eng, d: p.Prior},
		mean:  make([]float64, d), loss: make([]float64, j),
	}
	if s.OnMemberFailure == FailResample {
		st.errs = make([]error, j)
	}
	first := 0
	switch {
	case from != nil:
		st.x.Copy(from.Ensemble)
		first = from.Step
		if from.Done {
			first = s.Steps
		}
	case s.Init != nil:
		st.x.Copy(s.Init)
	default:
		for i := 0; i < j; i++ {
			r := rng.Stream(s.Seed, i)
			row := st.x.RawRowView(i)
			for k := range row {
				row[k] = s.SigmaMax * r.NormFloat64()
			}
		}
	}
	sig := m.Sigmas()
	partial := func(steps int, err error) (*Result, error) {
		return newResult(m.Name(), st.x, ses.counts(), steps, ses.elapsed()), err
	}
	for i := first; i < s.Steps; i++ {
		info := StepInfo{Method: m.Name(), Step: i, Steps: s.Steps, Sigma: sig[i], MisfitMean: math.NaN(), MisfitMax: math.NaN()}
		if s.Updates > 0 && guided(i, s.Steps, s.ThresholdStart, s.ThresholdEnd) {
			info.Guided = true
			k := odeSteps(i, s.Steps, s.MaxODESteps)
			for u := 0; u < s.Updates; u++ {
				step, err := m.update(ctx, p, eng, st, sig[i], k, m.GuidanceScale(i), &info, i, u)
				if err != nil {
					if ctx.Err() != nil {
						return partial(i, ctx.Err())
					}
					return partial(i, fmt.Errorf("guidance: EnKG step %d (σ = %.4g), update %d: %w", i, sig[i], u, atStep(err, i)))
				}
				info.StepSize = step.Step
			}
			if trace != nil {
				trace(i, st.x)
			}
		}
		if err := m.euler(ctx, p, eng, st, sig[i], sig[i+1]); err != nil {
			if ctx.Err() != nil {
				return partial(i, ctx.Err())
			}
			return partial(i, fmt.Errorf("guidance: EnKG step %d (σ = %.4g): %w", i, sig[i], atStep(err, i)))
		}
		info.Spread = spread(st.x, st.mean)
		info.Counts = ses.counts()
		if save != nil {
			cp := &Checkpoint{Method: m.Name(), Step: i + 1, Steps: s.Steps, Done: i+1 == s.Steps, Ensemble: st.x,
				Counts: info.Counts, Wall: ses.elapsed()}
			if err := save(cp); err != nil {
				return partial(i+1, fmt.Errorf("guidance: EnKG: checkpoint after step %d: %w", i, err))
			}
		}
		if err := rec.Record(info); err != nil {
			return partial(i+1, fmt.Errorf("guidance: EnKG: recorder: %w", err))
		}
	}
	return partial(s.Steps, nil)
}

// euler moves x one probability-flow ODE step from σ to σnext:
// x ← x + (σnext − σ)·(x − D(x; σ))/σ.
func (m *EnKG) euler(ctx context.Context, p *Problem, eng Engine, st *enkgState, sigma, next float64) error {
	if err := eng.Denoise(ctx, p.Prior, st.den, st.x, sigma); err != nil {
		return err
	}
	eulerStep(st.x, st.den, sigma, m.dt(next, sigma))
	return nil
}

// dt returns σnext − σ, in float32 when the published arithmetic is requested.
func (m *EnKG) dt(next, sigma float64) float64 {
	if m.s.Float32Schedule {
		return float64(float32(next) - float32(sigma))
	}
	return next - sigma
}

// eulerStep applies x ← x + dt·(x − den)/σ row by row.
func eulerStep(x, den *mat.Dense, sigma, dt float64) {
	r, _ := x.Dims()
	for i := 0; i < r; i++ {
		xr, dr := x.RawRowView(i), den.RawRowView(i)
		for k, v := range xr {
			xr[k] = v + dt*((v-dr[k])/sigma)
		}
	}
}

// denoiseODE writes into st.x0 the x̂0 of k Euler steps of the probability-flow ODE from
// st.x at σ down to ODESigmaMin and then 0 (diffusion.ODEToZero; k = 1: x̂0 = D(x; σ)),
// with every denoiser call routed through (and counted by) the engine.
func (m *EnKG) denoiseODE(ctx context.Context, p *Problem, eng Engine, st *enkgState, sigma float64, k int) error {
	return st.ode.Denoise(ctx, st.x0, st.x, st.prior, sigma, k)
}

// update performs one ensemble Kalman guidance update of st.x at noise level σ. With
// FailResample, failed members leave update u of step i and are redrawn.
func (m *EnKG) update(ctx context.Context, p *Problem, eng Engine, st *enkgState, sigma float64, k int, scale float64, info *StepInfo, i, u int) (KalmanStep, error) {
	if err := m.denoiseODE(ctx, p, eng, st, sigma, k); err != nil {
		return KalmanStep{}, err
	}
	nfail, err := forwardTolerant(ctx, eng, m.s.OnMemberFailure, st.y, st.x0, st.errs)
	if err != nil {
		return KalmanStep{}, err
	}
	_, _, om := st.kal.Dims()
	if nfail > 0 {
		info.Failed += nfail
		sv, err := newSurvivors(st.x, st.y, st.errs)
		if err != nil {
			return KalmanStep{}, err
		}
		sv.misfit(p, info)
		var step KalmanStep
		if !(m.s.Discrepancy > 0 && info.MisfitMean <= m.s.Discrepancy*float64(om)/2) {
			if step, err = sv.update(scale, p.Locality, m.s.Localization); err != nil {
				return step, err
			}
		}
		sv.finish(st.x, resampleSeed(m.s.Seed, i, u))
		return step, nil
	}
	misfitGradients(p, st.e, st.y, st.loss, info)
	if m.s.Discrepancy > 0 {
		if info.MisfitMean <= m.s.Discrepancy*float64(om)/2 {
			return KalmanStep{}, nil // the data are fitted to the noise level: no update
		}
	}
	step := st.kal.Update(st.x, st.y, st.e, scale)
	if math.IsNaN(step.NormC) || math.IsInf(step.NormC, 0) {
		return step, errors.New("non-finite ensemble covariance ‖C‖_F")
	}
	return step, nil
}

// misfitGradients writes e_j = ∂Loss/∂y (y_j, y_obs) and the misfit statistics.
func misfitGradients(p *Problem, e, y *mat.Dense, loss []float64, info *StepInfo) {
	mf := p.misfit()
	r, _ := y.Dims()
	var sum, max float64
	for i := 0; i < r; i++ {
		mf.Gradient(e.RawRowView(i), y.RawRowView(i), p.Observation)
		loss[i] = mf.Loss(y.RawRowView(i), p.Observation)
		sum += loss[i]
		if loss[i] > max {
			max = loss[i]
		}
	}
	info.MisfitMean, info.MisfitMax = sum/float64(r), max
}
