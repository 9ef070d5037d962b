// Package demo runs the flagship problem of the EnKG paper (Zheng et al. 2024, §5.2) at CPU
// scale: recover the vorticity of a forced 2-D Navier–Stokes flow from a later, subsampled
// and noisy snapshot, with Ensemble Kalman Diffusion Guidance (EnKG) and ensemble Kalman
// inversion (EKI) at the same forward-model budget. `make demo` (cmd/enkg `enkg demo`) wires
// it to the HDF5 training set; the package itself needs no cgo.
//
// # Problem
//
// States are vorticities w on the 2π-periodic n×n grid, spun up from Gaussian random fields
// w0 ~ GRF(α = 2.5, τ = 7) for Spinup time units of
//
//	∂w/∂t + u·∇w = (1/Re)Δw − 4cos(4y),   Re = 200,
//
// (package pde). The unknown is the normalised field x = w/Scale (Scale = 10, as in the
// published prior), the forward model and the observation are
//
//	G(x) = Φ_T(Scale·x)[::s, ::s],   y = G(x_true) + η,   η ~ N(0, Noise²·I),
//
// with Φ_T the solve over T = 1 time unit and s = 2 (every second point).
//
// # Prior
//
// The prior is a stationary Gaussian fitted to the training fields in the normalised space
// (diffusion.FitSpectralGaussian: mean and full 2-D power spectrum of w/Scale), whose
// denoiser D(x; σ) = μ + F⁻¹[P/(P + σ²) ⊙ F(x − μ)] is exact. It stands in for the trained
// U-Net of the paper (same interface, diffusion.Denoiser).
//
// # Methods and budget
//
// EnKG runs the published Navier–Stokes algorithm (2 updates per guided step, scale 2,
// start = end = 0.05) with J particles and N steps; its forward evaluations are
// F = J·Updates·(number of guided steps). EKI starts from J prior samples and takes F/J
// Kalman iterations, so both use exactly F forward evaluations. The metric is the relative
// L2 error ‖x̂ − x_true‖/‖x_true‖ of the ensemble mean (the paper's Navier–Stokes metric);
// the prior mean is reported as the no-data baseline.
//
// # What to expect at CPU scale
//
// The defaults (J = 128, N = 8, F = 1792 forward solves per method, 100 training fields)
// keep `make demo` at a few minutes on 2 cores; the table it prints is measured on one
// held-out truth (TruthSeed 1000) and is not a comparison of the methods — with a Gaussian
// prior their ordering changes from truth to truth. The comparison on 10 held-out truths at
// σ = 0, 1, 2, with the trained neural prior, is scripts/ns-study.sh (README). With
// NeuralWeights/NeuralConfig (enkg demo --neural priors/ns64) the table gains the row
// "EnKG (neural)": the same EnKG settings with the U-Net prior.
//
// The problem itself is built by package problem (Settings.Config; the same problem as
// configs/navier-stokes-gaussian.yaml), so `enkg solve` with that config reproduces the
// demo's EnKG and EKI rows.
//
// The paper's 0.12 needs its budget
// (J = 2048, N = 80, ≈ 3·10⁵ solves) and its trained prior. Two measured reasons
// (TestStudyLimits, ENKG_LONG=1; prior fitted to 60 training fields, default truth):
//
//   - With a Gaussian prior the probability-flow ODE and the denoiser are linear, so EnKG's
//     particles, like EKI's, stay in the affine span of J initial draws. The best relative
//     L2 error reachable in the span of J centred prior samples (orthogonal projection of the
//     truth) is 0.82, 0.73, 0.64, 0.53, 0.42 for J = 32, 64, 128, 256, 512: at J = 128
//     neither method can get much below 0.64 with this prior (EnKG's span is that of its
//     initial noise mapped through the ODE, distributed like prior samples).
//   - G is strongly nonlinear on the scale of the prior: along prior directions d, the
//     second-order change ‖G(x+εd) + G(x−εd) − 2G(x)‖ over the first-order change
//     ‖G(x+εd) − G(x−εd)‖ is 0.06–0.10 at ε = 0.01, 0.5–0.75 at ε = 0.1 and ≈ 1 at ε ≥ 0.3,
//     so a Kalman update linearised over an ensemble as wide as the prior is crude.
//
// A learned (non-Gaussian) prior lifts the first limit — its ODE is nonlinear, so EnKG leaves
// the initial span while EKI cannot — which is where the paper's margin over EKI comes from.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/pde"
	"github.com/enkg-go/enkg/problem"
)

// ErrSettings reports an impossible demo setting.
var ErrSettings = errors.New("demo: invalid setting")

// Settings configure the demo. Zero fields take the defaults in brackets (DefaultSettings).
type Settings struct {
	Res    int     `json:"res"`    // grid points per axis n [64]
	Re     float64 `json:"re"`     // Reynolds number [200]
	Spinup float64 `json:"spinup"` // time the training fields and the truth are spun up for [5]
	T      float64 `json:"t"`      // time of the forward model [1]
	Stride int     `json:"stride"` // observe every Stride-th point along both axes [2]
	Scale  float64 `json:"scale"`  // x = vorticity/Scale [10]
	// Noise is the standard deviation of the observation noise in vorticity units [0.1]
	// (2 % of the vorticity's standard deviation, about 5 at t = 5).
	Noise float64 `json:"noise"`

	Train int `json:"train"` // training fields used to fit the prior [100]
	// FieldMean fits a mean per pixel instead of one constant (the Kolmogorov forcing makes
	// the flow statistics depend on y) [false].
	FieldMean bool `json:"field_mean"`

	Members int     `json:"members"`        // ensemble size J of both methods [128]
	Steps   int     `json:"steps"`          // EnKG sampling steps N [8]
	Updates int     `json:"updates"`        // EnKG Kalman updates per guided step [2]
	Guide   float64 `json:"guidance_scale"` // EnKG guidance scale [2]
	// ThresholdStart, ThresholdEnd bound EnKG's guided steps [0.05, 0.05].
	ThresholdStart float64 `json:"threshold_start"`
	ThresholdEnd   float64 `json:"threshold_end"`
	EKIScale       float64 `json:"eki_scale"` // EKI step scale [2] (published eki.yaml)
	// SigmaMax is the largest noise level of EnKG's schedule, in the normalised space [80].
	SigmaMax float64 `json:"sigma_max"`

	Seed uint64 `json:"seed"` // seed of the ensembles [0]
	// TruthSeed: the truth is field 0 of `enkg data ns --seed TruthSeed` [1000; 0 means the
	// default]; its observation noise is drawn from problem.NoiseSeed(TruthSeed, 0). It must
	// differ from DataSeed (Resolve refuses it): the truth would be a training field.
	TruthSeed uint64 `json:"truth_seed"`
	// DataSeed is the seed of the training set (`enkg data ns --seed DataSeed`) [0].
	DataSeed uint64 `json:"data_seed"`
	Workers  int    `json:"workers"` // goroutines (0: GOMAXPROCS); results do not depend on it

	// NeuralWeights and NeuralConfig, when set, are an EDM U-Net prior (problem.LoadUNet,
	// e.g. priors/ns64/weights.npz and config.json): Run then adds the row "EnKG (neural)",
	// first in the table: EnKG with the same settings and the neural prior, except that x̂0 is
	// one denoiser call D(x; σ) (max_ode_steps 1), which keeps the U-Net evaluations at
	// J·(N + updates·guided steps).
	NeuralWeights string `json:"neural_weights,omitempty"`
	NeuralConfig  string `json:"neural_config,omitempty"`
}

// DefaultSettings returns the demo defaults: 64², Re = 200, spin-up 5, T = 1, every 2nd
// point, noise 0.1, 100 training fields, J = 128, N = 8, 2 updates, scale 2.
func DefaultSettings() Settings {
	return Settings{Res: 64, Re: 200, Spinup: 5, T: 1, Stride: 2, Scale: 10, Noise: 0.1, Train: 100,
		Members: 128, Steps: 8, Updates: 2, Guide: 2, ThresholdStart: 0.05, ThresholdEnd: 0.05,
		EKIScale: 2, SigmaMax: 80, TruthSeed: 1000}
}

// Resolve fills zero fields with the defaults and validates the result.
func (s Settings) Resolve() (Settings, error) {
	d := DefaultSettings()
	fill := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	filli := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	filli(&s.Res, d.Res)
	fill(&s.Re, d.Re)
	fill(&s.Spinup, d.Spinup)
	fill(&s.T, d.T)
	filli(&s.Stride, d.Stride)
	fill(&s.Scale, d.Scale)
	filli(&s.Train, d.Train)
	filli(&s.Members, d.Members)
	filli(&s.Steps, d.Steps)
	filli(&s.Updates, d.Updates)
	fill(&s.Guide, d.Guide)
	fill(&s.EKIScale, d.EKIScale)
	fill(&s.SigmaMax, d.SigmaMax)
	if s.TruthSeed == 0 {
		s.TruthSeed = d.TruthSeed
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case s.Res < 4 || s.Res%2 != 0:
		return s, fmt.Errorf("%w: Res %d must be even and ≥ 4", ErrSettings, s.Res)
	case s.Stride < 1 || s.Stride > s.Res:
		return s, fmt.Errorf("%w: Stride %d must be in [1, Res]", ErrSettings, s.Stride)
	case !(s.Re > 0) || !finite(s.Re), !(s.Spinup >= 0) || !finite(s.Spinup), !(s.T > 0) || !finite(s.T):
		return s, fmt.Errorf("%w: Re %g, Spinup %g and T %g must be finite, Re and T > 0", ErrSettings, s.Re, s.Spinup, s.T)
	case !(s.Scale > 0) || !finite(s.Scale):
		return s, fmt.Errorf("%w: Scale %g must be finite and > 0", ErrSettings, s.Scale)
	case !(s.Noise >= 0) || !finite(s.Noise):
		return s, fmt.Errorf("%w: Noise %g must be finite and ≥ 0", ErrSettings, s.Noise)
	case s.Train < 2:
		return s, fmt.Errorf("%w: Train %d: the prior needs at least 2 training fields", ErrSettings, s.Train)
	case s.Members < 2:
		return s, fmt.Errorf("%w: Members %d must be ≥ 2", ErrSettings, s.Members)
	case s.Steps < 2 || s.Updates < 1:
		return s, fmt.Errorf("%w: Steps %d must be ≥ 2 and Updates %d ≥ 1", ErrSettings, s.Steps, s.Updates)
	case !(s.SigmaMax > 0.002) || !finite(s.SigmaMax):
		return s, fmt.Errorf("%w: SigmaMax %g must be finite and > 0.002", ErrSettings, s.SigmaMax)
	case !(s.Guide > 0) || !finite(s.Guide) || !(s.EKIScale > 0) || !finite(s.EKIScale):
		return s, fmt.Errorf("%w: guidance scales %g, %g must be finite and > 0", ErrSettings, s.Guide, s.EKIScale)
	case s.TruthSeed == s.DataSeed:
		return s, fmt.Errorf("%w: TruthSeed %d equals DataSeed: the truth would be a training field", ErrSettings, s.TruthSeed)
	case s.TruthSeed > problem.MaxSeed || s.DataSeed > problem.MaxSeed:
		return s, fmt.Errorf("%w: seeds must be < 2^63", ErrSettings)
	}
	return s, nil
}

// SolverSettings returns the Navier–Stokes solver settings of the demo (Kolmogorov forcing,
// adaptive steps), those `enkg data ns --re Re` uses.
func (s Settings) SolverSettings() pde.Settings {
	p := pde.DefaultSettings()
	p.Re = s.Re
	return p
}

// ObsSide returns the side of the observed grid, ⌈Res/Stride⌉.
func (s Settings) ObsSide() int { return (s.Res + s.Stride - 1) / s.Stride }

// Config returns the demo's problem and methods as a problem.Config (navier-stokes, a
// simulated held-out truth, EnKG with EKI at equal budget): the same problem as
// configs/navier-stokes-gaussian.yaml with these settings. The prior is given to Run.
func (s Settings) Config() problem.Config {
	c := problem.Defaults()
	c.Problem = problem.Settings{Kind: "navier-stokes", Size: s.Res, Stride: s.Stride, Noise: s.Noise, Re: s.Re, T: s.T,
		FOV: c.Problem.FOV, Array: c.Problem.Array}
	c.Truth = problem.Truth{Source: "simulated", Seed: s.TruthSeed, Spinup: s.Spinup}
	c.Prior.Scale = s.Scale
	c.Prior.TrainSeeds = []uint64{s.DataSeed}
	e := &c.Algorithm.EnKG
	e.Members, e.Steps, e.Updates, e.Scale, e.SigmaMax = s.Members, s.Steps, s.Updates, s.Guide, s.SigmaMax
	e.ThresholdStart, e.ThresholdEnd, e.LRMinRatio = s.ThresholdStart, s.ThresholdEnd, 0
	c.Algorithm.EKI = problem.EKI{EqualBudget: true, Members: s.Members, Iterations: 1, Scale: s.EKIScale}
	c.Seed, c.Workers = s.Seed, s.Workers
	return c
}

// Truth returns the held-out true vorticity: the GRF(2.5, 7) field drawn from
// rng.Stream(TruthSeed, 0), spun up for Spinup time units — field 0 of
// `enkg data ns --seed TruthSeed` with the same grid and Re. TruthSeed must differ from the
// training seed so that the truth is not a training field.
func Truth(ctx context.Context, s Settings) ([]float64, error) {
	w, err := problem.SimulatedTruth(ctx, s.Res, s.Re, s.Spinup, s.TruthSeed, 0)
	if err != nil {
		return nil, fmt.Errorf("demo: truth: %w", err)
	}
	return w, nil
}

// FitPrior fits the spectral Gaussian prior to the training vorticities (one Res×Res field
// per row of fields) in the normalised space w/Scale. The returned prior's Norm is
// Affine{Scale: Scale}, so SavePrior records the map back to vorticity.
func FitPrior(fields *mat.Dense, s Settings) (*diffusion.SpectralGaussian, error) {
	r, c := fields.Dims()
	if c != s.Res*s.Res {
		return nil, fmt.Errorf("demo: prior: training fields have %d values, want %d×%d: %w", c, s.Res, s.Res, operator.ErrDim)
	}
	if r < 2 {
		return nil, fmt.Errorf("%w: the prior needs at least 2 training fields, got %d", ErrSettings, r)
	}
	x := mat.DenseCopyOf(fields)
	x.Scale(1/s.Scale, x)
	p, err := diffusion.FitSpectralGaussian(s.Res, s.Res, x, diffusion.SpectralFitSettings{FieldMean: s.FieldMean})
	if err != nil {
		return nil, fmt.Errorf("demo: prior: %w", err)
	}
	p.Norm = diffusion.Affine{Scale: s.Scale}
	return p, nil
}

// Observe returns y = G(truth) + Noise·ε (vorticity units) with ε from
// problem.NoiseSeed(TruthSeed, 0): every truth has its own noise.
func Observe(ctx context.Context, truth []float64, s Settings) ([]float64, error) {
	y, err := problem.Observe(ctx, s.Config(), truth)
	if err != nil {
		return nil, fmt.Errorf("demo: observation: %w", err)
	}
	return y, nil
}

// OperatorSettings returns the forward model's settings.
func (s Settings) OperatorSettings() pde.OperatorSettings {
	ps := s.SolverSettings()
	return pde.OperatorSettings{Nx: s.Res, Ny: s.Res, Scale: s.Scale, T: s.T, Stride: s.Stride, Solver: &ps}
}

// Row is one line of the results table. Fields are in vorticity units.
type Row struct {
	Method     string  `json:"method"`
	RelL2      float64 `json:"rel_l2"`
	Misfit     float64 `json:"data_misfit"` // ‖G(mean) − y‖²/(2·Noise²) (½‖·‖² when Noise = 0)
	Forward    int64   `json:"forward_evals"`
	Sequential int64   `json:"forward_sequential"`
	Denoiser   int64   `json:"denoiser_evals"`
	WallSec    float64 `json:"wall_seconds"`
	// Mean and Std are the estimate and its per-pixel ensemble standard deviation
	// (nil Std for the prior mean).
	Mean, Std []float64 `json:"-"`
	// Ensemble holds the final members (J×Res², nil for the prior mean).
	Ensemble *mat.Dense `json:"-"`
	// Curve is the data misfit of the ensemble (mean over members of Loss(G(x̂0_j), y)) against
	// the forward evaluations spent, one point per guided step or iteration.
	Curve [][2]float64 `json:"-"`
}

// Report is the outcome of Run.
type Report struct {
	Settings    Settings
	Truth       []float64 // true vorticity (Res²)
	Observation []float64 // y (ObsSide²)
	Rows        []Row     // EnKG, EKI, prior mean
}

// Progress returns the recorder Run uses for a method (nil: none); see guidance.NewProgress.
type Progress func(method string) guidance.Recorder

// Run solves the problem with EnKG and EKI at the same forward budget (problem.Config's
// equal_budget). prior is the fitted prior in the normalised space w/Scale (its Norm is
// ignored), truth the true vorticity and y its observation; the problem is assembled by
// package problem, so every row is in vorticity units. progress, if not nil, gives a
// recorder per method (progress bars).
func Run(ctx context.Context, s Settings, prior interface {
	diffusion.Denoiser
	guidance.Sampler
}, truth, y []float64, progress Progress) (*Report, error) {
	s, err := s.Resolve()
	if err != nil {
		return nil, err
	}
	d := s.Res * s.Res
	if prior.Dim() != d || len(truth) != d || len(y) != s.ObsSide()*s.ObsSide() {
		return nil, fmt.Errorf("demo: prior dim %d, truth %d, observation %d for a %d² grid observed on %d²: %w",
			prior.Dim(), len(truth), len(y), s.Res, s.ObsSide(), operator.ErrDim)
	}
	pr := &problem.Prior{Denoiser: prior, Sampler: prior, Norm: diffusion.Affine{Scale: s.Scale}}
	if ex, ok := prior.(diffusion.Prior); ok {
		pr.Exact = ex
	}
	cfg := s.Config()
	p, err := problem.Assemble(ctx, cfg, pr, truth, y)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	rep := &Report{Settings: s, Truth: truth, Observation: y}
	if s.NeuralWeights != "" || s.NeuralConfig != "" {
		np, err := problem.LoadUNet(s.NeuralWeights, s.NeuralConfig, d, s.Workers)
		if err != nil {
			return nil, fmt.Errorf("demo: neural prior: %w", err)
		}
		pn, err := problem.Assemble(ctx, cfg, np, truth, y)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		nc := cfg
		nc.Algorithm.EnKG.MaxODESteps = 1 // x̂0 = D(x; σ): one U-Net call per member and update
		m, err := nc.Method()
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		row, err := runMethod(ctx, pn, m, s, progress)
		if err != nil {
			return nil, err
		}
		row.Method = "EnKG (neural)"
		rep.Rows = append(rep.Rows, row)
	}
	for _, name := range []string{"enkg", "eki"} {
		cfg.Algorithm.Name = name
		m, err := cfg.Method()
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		row, err := runMethod(ctx, p, m, s, progress)
		if err != nil {
			return nil, err
		}
		rep.Rows = append(rep.Rows, row)
	}
	// The prior mean: the estimate without data.
	res, err := p.PriorMean(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: prior mean: %w", err)
	}
	rep.Rows = append(rep.Rows, Row{Method: "prior mean", RelL2: res.Metrics["rel_l2"], Misfit: res.Metrics["data_misfit_of_mean"], Mean: res.Mean})
	return rep, nil
}

func runMethod(ctx context.Context, p *problem.Problem, m guidance.Method, s Settings, progress Progress) (Row, error) {
	row := Row{Method: m.Name()}
	var rec guidance.Multi
	rec = append(rec, guidance.RecorderFunc(func(si guidance.StepInfo) error {
		if !math.IsNaN(si.MisfitMean) && (si.Guided || si.Method == "EKI") {
			row.Curve = append(row.Curve, [2]float64{float64(si.Counts.Forward), si.MisfitMean})
		}
		return nil
	}))
	if progress != nil {
		if r := progress(m.Name()); r != nil {
			rec = append(rec, r)
		}
	}
	res, err := p.Run(ctx, m, guidance.Options{Workers: s.Workers, Recorder: rec})
	if err != nil {
		return row, fmt.Errorf("demo: %s: %w", m.Name(), err)
	}
	row.Forward, row.Sequential, row.Denoiser = res.Counts.Forward, res.Counts.Sequential, res.Counts.Denoiser
	row.WallSec = res.Wall.Seconds()
	row.Mean, row.Std, row.Ensemble = res.Mean, res.Std, res.Ensemble
	row.RelL2, row.Misfit = res.Metrics["rel_l2"], res.Metrics["data_misfit_of_mean"]
	return row, nil
}

// WriteTable prints the results table.
func (r *Report) WriteTable(w io.Writer) {
	s := r.Settings
	fmt.Fprintf(w, "Navier–Stokes %d², Re = %g, T = %g, every %d%s point observed, noise σ = %g; J = %d, EnKG N = %d × %d updates\n",
		s.Res, s.Re, s.T, s.Stride, ordinalSuffix(s.Stride), s.Noise, s.Members, s.Steps, s.Updates)
	wm := len("prior mean") // the method column fits the longest name ("EnKG (neural)")
	for _, row := range r.Rows {
		wm = max(wm, utf8.RuneCountInString(row.Method))
	}
	fmt.Fprintf(w, "%-*s %9s %12s %14s %15s %10s\n", wm, "method", "rel. L2", "data misfit", "forward evals", "denoiser evals", "wall [s]")
	for _, row := range r.Rows {
		fmt.Fprintf(w, "%-*s %9.4f %12.4g %14d %15d %10.1f\n", wm, row.Method, row.RelL2, row.Misfit, row.Forward, row.Denoiser, row.WallSec)
	}
}

func ordinalSuffix(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return "th"
	case n%10 == 1:
		return "st"
	case n%10 == 2:
		return "nd"
	case n%10 == 3:
		return "rd"
	}
	return "th"
}
