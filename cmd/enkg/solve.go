package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"
	"gopkg.in/yaml.v3"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/figures"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/imaging"
	"github.com/enkg-go/enkg/interferometry"
	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/pde"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

// solveConfig is the YAML configuration of `enkg solve`. Every key is documented in
// configs/README.md; unknown keys are errors.
type solveConfig struct {
	Problem   solveProblem   `yaml:"problem"`
	Truth     solveTruth     `yaml:"truth"`
	Prior     solvePrior     `yaml:"prior"`
	Algorithm solveAlgorithm `yaml:"algorithm"`
	Seed      uint64         `yaml:"seed"`
	Workers   int            `yaml:"workers"`
	Image     solveImage     `yaml:"image"` // problem.kind image (solve_image.go)
}

type solveProblem struct {
	// Kind: linear-gaussian (y = x[::s, ::s] + noise) or navier-stokes (y = Φ_T(scale·x)[::s, ::s] + noise).
	Kind   string  `yaml:"kind"`
	Size   int     `yaml:"size"`   // grid n (fields n×n)
	Stride int     `yaml:"stride"` // observe every stride-th point along both axes
	Noise  float64 `yaml:"noise"`  // standard deviation of the Gaussian measurement noise
	// navier-stokes only
	Re    float64 `yaml:"re"`    // Reynolds number
	T     float64 `yaml:"t"`     // final time
	Scale float64 `yaml:"scale"` // vorticity = scale·x
	// blackhole only
	FOV          float64 `yaml:"fov_uas"`       // field of view (μas)
	Array        string  `yaml:"array"`         // station array (built-in name or table file)
	ThermalNoise bool    `yaml:"thermal_noise"` // add thermal noise to the visibilities
}

type solveTruth struct {
	File string `yaml:"file"` // .npy of shape (n, n); empty: a prior sample
	Seed uint64 `yaml:"seed"` // seed of the prior sample
}

type solvePrior struct {
	// Kind: gaussian (N(0, variance·I), exact denoiser) or grf (spectral Gaussian of the
	// Navier–Stokes initial vorticity GRF, divided by problem.scale; exact denoiser).
	Kind     string  `yaml:"kind"`
	Variance float64 `yaml:"variance"` // gaussian
	Alpha    float64 `yaml:"alpha"`    // grf smoothness
	Tau      float64 `yaml:"tau"`      // grf inverse length
	// gmm / empirical (black hole): fitted to generated images
	Samples    int  `yaml:"samples"`    // generated training images
	Components int  `yaml:"components"` // gmm components
	Diagonal   bool `yaml:"diagonal"`   // gmm diagonal covariances
}

type solveAlgorithm struct {
	// Name: enkg, eki, dps, forward-gsg, central-gsg, dpg, scg.
	Name string        `yaml:"name"`
	EnKG solveEnKG     `yaml:"enkg"`
	EKI  solveEKI      `yaml:"eki"`
	DPS  solveDPS      `yaml:"dps"`
	DPG  solveDPG      `yaml:"dpg"`
	SCG  solveSCG      `yaml:"scg"`
	Sch  solveSchedule `yaml:"schedule"` // discretisation of the DPS/GSG/DPG/SCG baselines
}

type solveEnKG struct {
	Members         int     `yaml:"members"`
	Steps           int     `yaml:"steps"`
	Updates         int     `yaml:"updates"`
	Scale           float64 `yaml:"scale"`
	SigmaMax        float64 `yaml:"sigma_max"`
	SigmaMin        float64 `yaml:"sigma_min"`
	Rho             float64 `yaml:"rho"`
	ThresholdStart  float64 `yaml:"threshold_start"`
	ThresholdEnd    float64 `yaml:"threshold_end"`
	LRMinRatio      float64 `yaml:"lr_min_ratio"`
	ODESigmaMin     float64 `yaml:"ode_sigma_min"`
	MaxODESteps     int     `yaml:"max_ode_steps"`
	Float32Schedule bool    `yaml:"float32_schedule"`
}

type solveEKI struct {
	Members    int     `yaml:"members"`
	Iterations int     `yaml:"iterations"`
	Scale      float64 `yaml:"scale"`
}

type solveSchedule struct {
	Kind       string  `yaml:"kind"`
	Steps      int     `yaml:"steps"`
	SigmaMax   float64 `yaml:"sigma_max"`
	SigmaMin   float64 `yaml:"sigma_min"`
	SigmaFinal float64 `yaml:"sigma_final"`
	Rho        float64 `yaml:"rho"`
}

type solveDPS struct {
	Members   int     `yaml:"members"`
	Scale     float64 `yaml:"scale"`
	ODE       bool    `yaml:"ode"`
	Queries   int     `yaml:"queries"`
	BatchSize int     `yaml:"batch_size"`
	Mu        float64 `yaml:"mu"`
}

type solveDPG struct {
	Members   int     `yaml:"members"`
	Scale     float64 `yaml:"scale"`
	MCSamples int     `yaml:"mc_samples"`
	BatchSize int     `yaml:"batch_size"`
	Beta      float64 `yaml:"beta"`
	RMin      float64 `yaml:"r_min"`
	ODE       bool    `yaml:"ode"`
}

type solveSCG struct {
	Members    int     `yaml:"members"`
	Candidates int     `yaml:"candidates"`
	BatchSize  int     `yaml:"batch_size"`
	Threshold  float64 `yaml:"threshold"`
}

// solveDefaults returns the configuration every file starts from.
func solveDefaults() solveConfig {
	e, k, d, g, s := guidance.DefaultEnKGSettings(), guidance.DefaultEKISettings(), guidance.DefaultDPSSettings(),
		guidance.DefaultDPGSettings(), guidance.DefaultSCGSettings()
	sch := guidance.DefaultSchedule()
	return solveConfig{
		Image: solveImageDefaults(),
		Problem: solveProblem{Kind: "linear-gaussian", Size: 32, Stride: 2, Noise: 0, Re: 200, T: 1, Scale: 10,
			FOV: 160, Array: "eht2017", ThermalNoise: true},
		Prior: solvePrior{Kind: "gaussian", Variance: 1, Alpha: 2.5, Tau: 7, Samples: 512, Components: 8, Diagonal: true},
		Algorithm: solveAlgorithm{
			Name: "enkg",
			EnKG: solveEnKG{Members: e.Members, Steps: e.Steps, Updates: e.Updates, Scale: e.Scale, SigmaMax: e.SigmaMax,
				SigmaMin: e.SigmaMin, Rho: e.Rho, ThresholdStart: e.ThresholdStart, ThresholdEnd: e.ThresholdEnd,
				LRMinRatio: e.LRMinRatio, ODESigmaMin: e.ODESigmaMin, MaxODESteps: e.MaxODESteps},
			EKI: solveEKI{Members: k.Members, Iterations: k.Iterations, Scale: k.Scale},
			DPS: solveDPS{Members: d.Members, Scale: d.Scale, Queries: d.Queries, BatchSize: d.BatchSize, Mu: d.Mu},
			DPG: solveDPG{Members: g.Members, Scale: g.Scale, MCSamples: g.MCSamples, BatchSize: g.BatchSize, Beta: g.Beta},
			SCG: solveSCG{Members: s.Members, Candidates: s.Candidates, BatchSize: s.BatchSize, Threshold: s.Threshold},
			Sch: solveSchedule{Kind: sch.Kind, Steps: sch.Steps, SigmaMax: sch.SigmaMax, SigmaMin: sch.SigmaMin, Rho: sch.Rho},
		},
	}
}

// solveLoadConfig reads FILE (may be empty), applies the --set overrides (dotted keys,
// YAML values) and decodes strictly onto the defaults.
func solveLoadConfig(file string, sets []string) (solveConfig, error) {
	cfg := solveDefaults()
	tree := map[string]any{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return cfg, err
		}
		if err := yaml.Unmarshal(b, &tree); err != nil {
			return cfg, fmt.Errorf("%s: %w", file, err)
		}
		if tree == nil {
			tree = map[string]any{}
		}
	}
	for _, s := range sets {
		key, val, ok := strings.Cut(s, "=")
		if !ok || key == "" {
			return cfg, fmt.Errorf("--set %q: want key=value (e.g. algorithm.enkg.members=64)", s)
		}
		var v any
		if err := yaml.Unmarshal([]byte(val), &v); err != nil {
			return cfg, fmt.Errorf("--set %s: value: %w", key, err)
		}
		node := tree
		parts := strings.Split(key, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := node[p].(map[string]any)
			if !ok {
				if _, exists := node[p]; exists {
					return cfg, fmt.Errorf("--set %s: %s is not a section", key, p)
				}
				next = map[string]any{}
				node[p] = next
			}
			node = next
		}
		node[parts[len(parts)-1]] = v
	}
	b, err := yaml.Marshal(tree)
	if err != nil {
		return cfg, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && err != io.EOF {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// solveProblemSetup is a built problem with what the outputs need.
type solveProblemSetup struct {
	p          *guidance.Problem
	truth, obs []float64
	n, no      int       // field and observation sides
	postMean   []float64 // exact posterior mean when known
	extra      map[string]guidance.Metric
	// blackhole: images are shown and scored in image units (x+1)/2
	bh   *interferometry.BlackHole
	grid interferometry.Grid
	meas *interferometry.Measurement
}

// solveStride is the linear operator y = x[::s, ::s] on an n×n grid, with its adjoint.
type solveStride struct{ n, s, m int }

func (o solveStride) InputDim() int  { return o.n * o.n }
func (o solveStride) OutputDim() int { return o.m * o.m }
func (o solveStride) Forward(_ context.Context, dst, x []float64) error {
	if err := operator.CheckDims(o, dst, x); err != nil {
		return err
	}
	for i := 0; i < o.m; i++ {
		for j := 0; j < o.m; j++ {
			dst[i*o.m+j] = x[i*o.s*o.n+j*o.s]
		}
	}
	return operator.CheckFinite("input", x)
}
func (o solveStride) Adjoint(dst, y []float64) error {
	if len(dst) != o.InputDim() || len(y) != o.OutputDim() {
		return fmt.Errorf("stride adjoint lengths %d, %d: %w", len(dst), len(y), operator.ErrDim)
	}
	for i := range dst {
		dst[i] = 0
	}
	for i := 0; i < o.m; i++ {
		for j := 0; j < o.m; j++ {
			dst[i*o.s*o.n+j*o.s] = y[i*o.m+j]
		}
	}
	return nil
}

func solveBuild(ctx context.Context, cfg solveConfig) (*solveProblemSetup, error) {
	pr := cfg.Problem
	if pr.Kind == "image" {
		return solveBuildImage(ctx, cfg)
	}
	if pr.Size < 2 || pr.Stride < 1 || pr.Stride > pr.Size {
		return nil, fmt.Errorf("problem: size %d and stride %d: need size ≥ 2 and 1 ≤ stride ≤ size", pr.Size, pr.Stride)
	}
	if !(pr.Noise >= 0) || math.IsInf(pr.Noise, 0) {
		return nil, fmt.Errorf("problem: noise %v must be finite and ≥ 0", pr.Noise)
	}
	n := pr.Size
	if pr.Kind == "blackhole" {
		return solveBuildBlackHole(ctx, cfg)
	}
	st := &solveProblemSetup{n: n, extra: map[string]guidance.Metric{}}
	// Prior.
	var prior interface {
		diffusion.Denoiser
		guidance.Sampler
	}
	var truthSample func(dst []float64) error // nil: a sample of the prior
	switch cfg.Prior.Kind {
	case "gaussian":
		g, err := diffusion.NewIsotropicGaussian(n*n, 0, cfg.Prior.Variance)
		if err != nil {
			return nil, fmt.Errorf("prior: %w", err)
		}
		prior = g
	case "grf", "grf-fit":
		if n%2 != 0 {
			return nil, fmt.Errorf("prior: %s needs an even size, got %d", cfg.Prior.Kind, n)
		}
		grf, err := spectral.NewGRF(n, n, spectral.GRFSettings{Alpha: cfg.Prior.Alpha, Tau: cfg.Prior.Tau})
		if err != nil {
			return nil, fmt.Errorf("prior: %w", err)
		}
		sc := 1.0
		if pr.Kind == "navier-stokes" {
			sc = pr.Scale
		}
		if cfg.Prior.Kind == "grf" {
			sg, err := diffusion.NewSpectralGaussianFromGRF(grf)
			if err != nil {
				return nil, fmt.Errorf("prior: %w", err)
			}
			pw := append([]float64(nil), sg.Power()...)
			for i := range pw {
				pw[i] /= sc * sc
			}
			if prior, err = diffusion.NewSpectralGaussian(n, n, nil, pw); err != nil {
				return nil, fmt.Errorf("prior: %w", err)
			}
			break
		}
		// grf-fit: a stationary Gaussian fitted to generated fields; the truth is a generated
		// field too (not a sample of the fitted prior).
		if cfg.Prior.Samples < 2 {
			return nil, fmt.Errorf("prior: grf-fit needs at least 2 samples, got %d", cfg.Prior.Samples)
		}
		data := mat.NewDense(cfg.Prior.Samples, n*n, nil)
		if err := grf.SampleBatch(ctx, data.RawMatrix().Data, rng.Sub(cfg.Seed, "prior-data"), cfg.Workers); err != nil {
			return nil, fmt.Errorf("prior: %w", err)
		}
		data.Scale(1/sc, data)
		sg, err := diffusion.FitSpectralGaussian(n, n, data, diffusion.SpectralFitSettings{})
		if err != nil {
			return nil, fmt.Errorf("prior: %w", err)
		}
		prior = sg
		truthSample = func(dst []float64) error {
			grf.Sample(dst, rng.New(rng.Sub(cfg.Truth.Seed, "truth")))
			for i := range dst {
				dst[i] /= sc
			}
			return nil
		}
	default:
		return nil, fmt.Errorf("prior: unknown kind %q (want gaussian, grf or grf-fit; gmm or empirical for blackhole)", cfg.Prior.Kind)
	}
	// Forward model.
	var factory operator.Factory
	switch pr.Kind {
	case "linear-gaussian":
		m := (n + pr.Stride - 1) / pr.Stride
		op := solveStride{n: n, s: pr.Stride, m: m}
		factory = func() (operator.Operator, error) { return op, nil }
		st.no = m
	case "navier-stokes":
		ps := pde.DefaultOperatorSettings()
		ps.Nx, ps.Ny, ps.Scale, ps.T, ps.Stride = n, n, pr.Scale, pr.T, pr.Stride
		ps.Solver.Re = pr.Re
		f, err := pde.OperatorFactory(ps)
		if err != nil {
			return nil, fmt.Errorf("problem: %w", err)
		}
		factory = f
		st.no = (n + pr.Stride - 1) / pr.Stride
	default:
		return nil, fmt.Errorf("problem: unknown kind %q (want linear-gaussian, navier-stokes, blackhole or image)", pr.Kind)
	}
	// Truth.
	if cfg.Truth.File != "" {
		a, err := datasets.LoadNPY(cfg.Truth.File)
		if err != nil {
			return nil, fmt.Errorf("truth: %w", err)
		}
		if a.Data == nil || a.Len() != n*n {
			return nil, fmt.Errorf("truth: %s has shape %v, want (%d, %d)", cfg.Truth.File, a.Shape, n, n)
		}
		st.truth = a.Data
	} else if truthSample != nil {
		st.truth = make([]float64, n*n)
		if err := truthSample(st.truth); err != nil {
			return nil, fmt.Errorf("truth: %w", err)
		}
	} else {
		t := mat.NewDense(1, n*n, nil)
		// A stream of its own: never the stream of an ensemble member.
		if err := prior.Sample(ctx, t, rng.Sub(cfg.Truth.Seed, "truth")); err != nil {
			return nil, fmt.Errorf("truth: %w", err)
		}
		st.truth = t.RawMatrix().Data
	}
	// Observation.
	op, err := factory()
	if err != nil {
		return nil, err
	}
	st.obs = make([]float64, op.OutputDim())
	if err := op.Forward(ctx, st.obs, st.truth); err != nil {
		return nil, fmt.Errorf("observation: %w", err)
	}
	r := rng.New(rng.Sub(cfg.Seed, "noise"))
	for i := range st.obs {
		st.obs[i] += pr.Noise * r.NormFloat64()
	}
	var mf operator.Misfit = operator.Gaussian{Sigma: 1}
	if pr.Noise > 0 {
		mf = operator.Gaussian{Sigma: pr.Noise}
	}
	st.p = &guidance.Problem{Observation: st.obs, Forward: factory, Misfit: mf, Prior: guidance.NewAffineVJP(prior), Sampler: prior}
	// PSNR and SSIM over the truth's range.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range st.truth {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if rg := hi - lo; rg > 0 {
		st.extra["psnr"] = func(est, truth []float64) (float64, error) { return imaging.PSNR(est, truth, rg) }
		st.extra["ssim"] = func(est, truth []float64) (float64, error) {
			return imaging.SSIM(est, truth, imaging.Shape{C: 1, H: n, W: n}, rg)
		}
	}
	// Exact posterior mean of a Gaussian prior with the stride operator.
	if pr.Kind == "linear-gaussian" {
		st.postMean = solvePosteriorMean(cfg, prior, st.obs, st.no)
	}
	return st, nil
}

// solvePosteriorMean returns μ = Σ·Aᵀ(A·Σ·Aᵀ + s²I)⁻¹·y for y = x[::s, ::s] + N(0, s²I) and a
// Gaussian prior with zero mean: in closed form for the isotropic prior, from the dense
// covariance for a spectral prior with n² ≤ 4096; nil otherwise.
func solvePosteriorMean(cfg solveConfig, prior diffusion.Denoiser, y []float64, m int) []float64 {
	n, str, s2 := cfg.Problem.Size, cfg.Problem.Stride, cfg.Problem.Noise*cfg.Problem.Noise
	idx := make([]int, 0, m*m)
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			idx = append(idx, i*str*n+j*str)
		}
	}
	mu := make([]float64, n*n)
	if cfg.Prior.Kind == "gaussian" {
		v := cfg.Prior.Variance
		for a, k := range idx {
			mu[k] = v / (v + s2) * y[a]
		}
		return mu
	}
	cv, ok := prior.(interface{ Covariance() *mat.SymDense })
	if !ok || n*n > 4096 {
		return nil
	}
	cov := cv.Covariance()
	sm := mat.NewSymDense(len(idx), nil)
	for a := range idx {
		for b := a; b < len(idx); b++ {
			sm.SetSym(a, b, cov.At(idx[a], idx[b]))
		}
		sm.SetSym(a, a, sm.At(a, a)+s2+1e-10)
	}
	var ch mat.Cholesky
	if !ch.Factorize(sm) {
		return nil
	}
	var w mat.VecDense
	if err := ch.SolveVecTo(&w, mat.NewVecDense(len(y), y)); err != nil {
		return nil
	}
	for k := range mu {
		for a, q := range idx {
			mu[k] += cov.At(k, q) * w.AtVec(a)
		}
	}
	return mu
}

func solveMethod(cfg solveConfig) (guidance.Method, error) {
	a := cfg.Algorithm
	sch := guidance.Schedule{Kind: a.Sch.Kind, Steps: a.Sch.Steps, SigmaMax: a.Sch.SigmaMax, SigmaMin: a.Sch.SigmaMin,
		SigmaFinal: a.Sch.SigmaFinal, Rho: a.Sch.Rho}
	switch a.Name {
	case "enkg":
		e := a.EnKG
		return guidance.NewEnKG(guidance.EnKGSettings{Members: e.Members, Steps: e.Steps, Updates: e.Updates, Scale: e.Scale,
			SigmaMax: e.SigmaMax, SigmaMin: e.SigmaMin, Rho: e.Rho, ThresholdStart: e.ThresholdStart, ThresholdEnd: e.ThresholdEnd,
			LRMinRatio: e.LRMinRatio, ODESigmaMin: e.ODESigmaMin, MaxODESteps: e.MaxODESteps, Float32Schedule: e.Float32Schedule,
			Seed: cfg.Seed})
	case "eki":
		return guidance.NewEKI(guidance.EKISettings{Members: a.EKI.Members, Iterations: a.EKI.Iterations, Scale: a.EKI.Scale, Seed: cfg.Seed})
	case "dps", "forward-gsg", "central-gsg":
		g := map[string]guidance.GradientEstimate{"dps": guidance.Exact, "forward-gsg": guidance.ForwardGSG, "central-gsg": guidance.CentralGSG}[a.Name]
		d := a.DPS
		return guidance.NewDPS(guidance.DPSSettings{Members: d.Members, Schedule: sch, Scale: d.Scale, ODE: d.ODE, Gradient: g,
			Queries: d.Queries, BatchSize: d.BatchSize, Mu: d.Mu, Seed: cfg.Seed})
	case "dpg":
		d := a.DPG
		return guidance.NewDPG(guidance.DPGSettings{Members: d.Members, Schedule: sch, Scale: d.Scale, MCSamples: d.MCSamples,
			BatchSize: d.BatchSize, Beta: d.Beta, RMin: d.RMin, ODE: d.ODE, Seed: cfg.Seed})
	case "scg":
		s := a.SCG
		return guidance.NewSCG(guidance.SCGSettings{Members: s.Members, Schedule: sch, Candidates: s.Candidates,
			BatchSize: s.BatchSize, Threshold: s.Threshold, Seed: cfg.Seed})
	}
	return nil, fmt.Errorf("algorithm: unknown name %q (want enkg, eki, dps, forward-gsg, central-gsg, dpg or scg)", a.Name)
}

type solveOptions struct {
	config   string
	sets     []string
	out      string
	progress bool
}

func init() {
	var o solveOptions
	cmd := &cobra.Command{
		Use:   "solve --config FILE.yaml [--set key=value …] --out DIR",
		Short: "Solve an inverse problem with EnKG or a baseline",
		Long: `Solve an inverse problem y = G(x) + noise with Ensemble Kalman Diffusion Guidance (EnKG) or one of
its baselines (EKI, DPS, forward-GSG, central-GSG, DPG, SCG), as configured by a YAML file
(see configs/README.md; unknown keys are errors). --set overrides any key by its dotted path.

Problems: linear-gaussian (y = x[::s, ::s] + noise, exact posterior mean reported) and
navier-stokes (2-D vorticity at time T, every s-th point). Priors: gaussian, grf (exact
denoisers). The truth is read from truth.file or drawn from the prior with truth.seed.

Writes into DIR: config.yaml (fully resolved), metrics.json, ensemble.npy, mean.npy, std.npy,
truth.npy, observation.npy and PNG figures truth/observation/mean/std/error.`,
		Example: `  enkg solve --config configs/linear-gaussian.yaml --out out/lin
  enkg solve --config configs/navier-stokes-cpu.yaml --set algorithm.enkg.members=64 --out out/ns`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSolve(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "YAML configuration file (required)")
	f.StringArrayVar(&o.sets, "set", nil, "override a configuration key, e.g. --set algorithm.enkg.members=64 (repeatable)")
	f.StringVar(&o.out, "out", "", "output directory (required)")
	f.BoolVar(&o.progress, "progress", true, "draw a progress bar on stderr")
	rootCmd.AddCommand(cmd)
}

func runSolve(ctx context.Context, o solveOptions, stderr io.Writer) error {
	if o.config == "" || o.out == "" {
		return fmt.Errorf("solve: --config and --out are required")
	}
	cfg, err := solveLoadConfig(o.config, o.sets)
	if err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	method, err := solveMethod(cfg)
	if err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	st, err := solveBuild(ctx, cfg)
	if err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	resolved, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "config.yaml"), resolved, 0o644); err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	opt := guidance.Options{Workers: cfg.Workers}
	if o.progress {
		opt.Recorder = guidance.NewProgress(stderr)
	}
	t0 := time.Now()
	res, runErr := guidance.Solve(ctx, st.p, method, opt)
	if res == nil {
		return fmt.Errorf("solve: %w", runErr)
	}
	if err := res.Evaluate(st.truth, st.extra); err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	if st.postMean != nil {
		if v, err := guidance.RelL2(res.Mean, st.postMean); err == nil {
			res.Metrics["rel_l2_to_posterior_mean"] = v
		}
		if v, err := guidance.RelL2(st.postMean, st.truth); err == nil {
			res.Metrics["posterior_mean_rel_l2"] = v
		}
	}
	if op, err := st.p.Forward(); err == nil {
		if v, err := guidance.DataMisfit(ctx, op, st.p.Misfit, res.Mean, st.obs); err == nil {
			res.Metrics["data_misfit_of_mean"] = v
		}
	}
	shape := []int{st.n, st.n}
	if err := res.Save(o.out, shape); err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	sum := res.Summary()
	sum.Complete = runErr == nil
	b, _ := json.MarshalIndent(sum, "", "  ")
	if err := os.WriteFile(filepath.Join(o.out, "metrics.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := datasets.SaveNPY(filepath.Join(o.out, "truth.npy"), shape, st.truth); err != nil {
		return err
	}
	obsShape := []int{st.no, st.no}
	if st.bh != nil {
		obsShape = []int{len(st.obs)}
	}
	if err := datasets.SaveNPY(filepath.Join(o.out, "observation.npy"), obsShape, st.obs); err != nil {
		return err
	}
	if err := solveFigures(o.out, st, res); err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	fmt.Fprintf(stderr, "%s: rel L2 %.4f, %d forward evaluations (%d sequential), %d denoiser evaluations, %.1fs → %s\n",
		res.Method, res.Metrics["rel_l2"], res.Counts.Forward, res.Counts.Sequential, res.Counts.Denoiser, time.Since(t0).Seconds(), o.out)
	if runErr != nil {
		return fmt.Errorf("solve: stopped early (partial results saved): %w", runErr)
	}
	return nil
}

// solveBuildBlackHole builds the black-hole imaging problem of the EnKG paper: an n×n image
// (FOV fov_uas) observed by an array on the EHT 2017 M87 schedule, data = amplitudes, minimal
// closure phases and log closure amplitudes and the flux, the published misfit weights; the
// prior (gmm or empirical) is fitted to generated ring/crescent images, each normalised to
// max 1 and mapped to x = 2·img − 1.
func solveBuildBlackHole(ctx context.Context, cfg solveConfig) (*solveProblemSetup, error) {
	pr, pc := cfg.Problem, cfg.Prior
	n := pr.Size
	g, err := interferometry.NewGrid(n, pr.FOV)
	if err != nil {
		return nil, fmt.Errorf("problem: %w", err)
	}
	arr, err := interferometry.LoadArray(pr.Array)
	if err != nil {
		return nil, fmt.Errorf("problem: %w", err)
	}
	obs, err := interferometry.Observe(arr, interferometry.DefaultSettings())
	if err != nil {
		return nil, fmt.Errorf("problem: %w", err)
	}
	// Generated images (Jy), normalised to max 1 (image units).
	gen := func(dst []float64, seed uint64, j int) (float64, error) {
		if err := interferometry.RandomImage(dst, g, interferometry.GeneratorSettings{}, rng.Stream(seed, j)); err != nil {
			return 0, err
		}
		mx := 0.0
		for _, v := range dst {
			mx = math.Max(mx, v)
		}
		if !(mx > 0) {
			return 0, fmt.Errorf("generated image %d is empty", j)
		}
		for i := range dst {
			dst[i] /= mx
		}
		return mx, nil
	}
	st := &solveProblemSetup{n: n, grid: g, extra: map[string]guidance.Metric{}}
	truthImg := make([]float64, n*n)
	multiplier := 1.0
	if cfg.Truth.File != "" {
		a, err := datasets.LoadNPY(cfg.Truth.File)
		if err != nil {
			return nil, fmt.Errorf("truth: %w", err)
		}
		if a.Data == nil || a.Len() != n*n {
			return nil, fmt.Errorf("truth: %s has shape %v, want (%d, %d)", cfg.Truth.File, a.Shape, n, n)
		}
		copy(truthImg, a.Data)
	} else if multiplier, err = gen(truthImg, rng.Sub(cfg.Truth.Seed, "truth"), 0); err != nil {
		return nil, fmt.Errorf("truth: %w", err)
	}
	bh, err := interferometry.NewBlackHole(obs, g, interferometry.BlackHoleSettings{Multiplier: multiplier})
	if err != nil {
		return nil, fmt.Errorf("problem: %w", err)
	}
	st.bh = bh
	st.truth = make([]float64, n*n)
	for i, v := range truthImg {
		st.truth[i] = 2*v - 1
	}
	var r = rng.New(rng.Sub(cfg.Seed, "noise"))
	if !pr.ThermalNoise {
		r = nil
	}
	meas, err := bh.Measure(st.truth, r)
	if err != nil {
		return nil, fmt.Errorf("observation: %w", err)
	}
	st.meas, st.obs = meas, meas.Y
	mf, err := interferometry.NewBlackHoleMisfit(bh.Layout(), meas, interferometry.PublishedWeights)
	if err != nil {
		return nil, fmt.Errorf("observation: %w", err)
	}
	// Prior fitted to generated images.
	if pc.Samples < 2 {
		return nil, fmt.Errorf("prior: %d generated samples: need at least 2", pc.Samples)
	}
	data := mat.NewDense(pc.Samples, n*n, nil)
	ps := rng.Sub(cfg.Seed, "prior-data")
	for j := 0; j < pc.Samples; j++ {
		row := data.RawRowView(j)
		if _, err := gen(row, ps, j); err != nil {
			return nil, fmt.Errorf("prior: %w", err)
		}
		for i, v := range row {
			row[i] = 2*v - 1
		}
	}
	var prior interface {
		diffusion.Denoiser
		guidance.Sampler
	}
	switch pc.Kind {
	case "gmm":
		gm, _, err := diffusion.FitGMM(ctx, data, pc.Components, diffusion.GMMFitSettings{Diagonal: pc.Diagonal, Seed: ps, Workers: cfg.Workers})
		if err != nil {
			return nil, fmt.Errorf("prior: %w", err)
		}
		prior = gm
	case "empirical":
		e, err := diffusion.NewEmpirical(data, diffusion.EmpiricalSettings{})
		if err != nil {
			return nil, fmt.Errorf("prior: %w", err)
		}
		prior = e
	default:
		return nil, fmt.Errorf("prior: kind %q for blackhole (want gmm or empirical)", pc.Kind)
	}
	st.p = &guidance.Problem{Observation: st.obs, Forward: bh.Factory(), Misfit: mf, Prior: prior, Sampler: prior}
	unit := func(x []float64) []float64 {
		u := make([]float64, len(x))
		for i, v := range x {
			u[i] = (v + 1) / 2
		}
		return u
	}
	st.extra["chi2_cphase"] = func(est, _ []float64) (float64, error) {
		c, _, err := bh.ClosureChiSq(unit(est), meas, true)
		return c, err
	}
	st.extra["chi2_logcamp"] = func(est, _ []float64) (float64, error) {
		_, c, err := bh.ClosureChiSq(unit(est), meas, true)
		return c, err
	}
	for _, f := range []float64{10, 15, 20} {
		f := f
		st.extra[fmt.Sprintf("blurred_psnr_%g", f)] = func(est, truth []float64) (float64, error) {
			_, al, err := interferometry.AlignedPSNR(unit(truth), unit(est), g)
			if err != nil {
				return 0, err
			}
			return interferometry.BlurredPSNR(unit(truth), al, g, f)
		}
	}
	st.extra["psnr"] = func(est, truth []float64) (float64, error) {
		return imaging.PSNR(unit(est), unit(truth), 1)
	}
	st.extra["ssim"] = func(est, truth []float64) (float64, error) {
		return imaging.SSIM(unit(est), unit(truth), imaging.Shape{C: 1, H: n, W: n}, 1)
	}
	st.extra["psnr_aligned"] = func(est, truth []float64) (float64, error) {
		p, _, err := interferometry.AlignedPSNR(unit(truth), unit(est), g)
		return p, err
	}
	return st, nil
}

// solveFigures writes truth, observation (gridded problems), mean, std and error PNGs:
// diverging maps for signed fields, afmhot for black-hole images (in image units).
func solveFigures(dir string, st *solveProblemSetup, res *guidance.Result) error {
	truth, mean, std := st.truth, res.Mean, res.Std
	field := figures.Options{Colormap: figures.Diverging}
	if st.bh != nil {
		conv := func(x []float64, f func(float64) float64) []float64 {
			u := make([]float64, len(x))
			for i, v := range x {
				u[i] = f(v)
			}
			return u
		}
		// Image units, clipped to [0, 1] as the published evaluator does.
		unit := func(v float64) float64 { return math.Max(0, math.Min(1, (v+1)/2)) }
		truth = conv(truth, unit)
		mean = conv(mean, unit)
		std = conv(std, func(v float64) float64 { return v / 2 })
		field = figures.Options{Colormap: figures.Afmhot}
	}
	errField := make([]float64, len(truth))
	for i := range errField {
		errField[i] = mean[i] - truth[i]
	}
	lo, hi := figures.Options{Symmetric: st.bh == nil}.Range(truth)
	field.Min, field.Max = lo, hi
	// Values outside the colour range would be drawn blank: clip the mean to the truth's range.
	clipped := make([]float64, len(mean))
	for i, v := range mean {
		clipped[i] = math.Max(lo, math.Min(hi, v))
	}
	mean = clipped
	type fig struct {
		name  string
		f     []float64
		side  int
		title string
		opt   figures.Options
	}
	figs := []fig{
		{"truth", truth, st.n, "truth", field},
		{"mean", mean, st.n, fmt.Sprintf("%s mean (rel. L2 %.3f)", res.Method, res.Metrics["rel_l2"]), field},
		{"std", std, st.n, "ensemble std", figures.Options{Colormap: figures.Viridis}},
		{"error", errField, st.n, "mean − truth", figures.Options{Colormap: figures.Diverging, Symmetric: true}},
	}
	if st.bh == nil {
		figs = append(figs, fig{"observation", st.obs, st.no, "observation", figures.Options{Colormap: figures.Diverging, Symmetric: true}})
	}
	for _, fg := range figs {
		fg.opt.Title = fg.title
		if err := figures.SaveField(filepath.Join(dir, fg.name+".png"), fg.f, fg.side, fg.side, fg.opt); err != nil {
			return fmt.Errorf("figure %s: %w", fg.name, err)
		}
	}
	return nil
}
