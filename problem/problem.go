package problem

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/imaging"
	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/rng"
)

// Problem is a built inverse problem. Truth, Observation, PosteriorMean and every result Run
// returns are in physical units; Guidance is the same problem in the prior's normalised
// space, where the methods run (x_physical = Prior.Norm.Scale·x + Prior.Norm.Shift).
type Problem struct {
	Config Config
	// Shape is the shape of a field (n, n); ObsShape that of the observation.
	Shape, ObsShape []int
	// Truth is the true field (nil with truth.source none).
	Truth []float64
	// Observation is y.
	Observation []float64
	// NoiseSigma is the standard deviation of the noise drawn on y (0 for a given observation).
	NoiseSigma float64
	// Prior is the prior with its normalisation.
	Prior *Prior
	// Guidance is the problem the methods solve (normalised space).
	Guidance *guidance.Problem
	// PosteriorMean is the exact posterior mean when known (linear-gaussian), else nil.
	PosteriorMean []float64
	// Metrics are the extra metrics of an estimate against the truth (physical units).
	Metrics map[string]guidance.Metric
	// ImageUnits marks image-like fields (blackhole: afmhot figures, range [0, 1]).
	ImageUnits bool
	// Inputs are the files read.
	Inputs []string
}

// Build builds the problem c describes.
func Build(ctx context.Context, c Config) (*Problem, error) {
	if err := checkCommon(c); err != nil {
		return nil, err
	}
	var (
		p   *Problem
		err error
	)
	switch c.Problem.Kind {
	case "linear-gaussian":
		p, err = buildLinear(ctx, c)
	case "navier-stokes":
		p, err = buildNavierStokes(ctx, c)
	case "blackhole":
		p, err = buildBlackHole(ctx, c)
	case "image":
		p, err = buildImage(ctx, c)
	default:
		return nil, fmt.Errorf("%w: problem.kind %q (want linear-gaussian, navier-stokes, blackhole or image)", ErrConfig, c.Problem.Kind)
	}
	if err != nil {
		return nil, err
	}
	p.Config = c
	p.Config.given = nil
	p.Inputs = append(p.Inputs, p.Prior.Inputs...)
	for _, f := range []string{c.Truth.File, c.Observation.File} {
		if f != "" {
			p.Inputs = append(p.Inputs, f)
		}
	}
	return p, nil
}

// Assemble is Build with a prior built elsewhere (say, loaded once for many solves) and,
// optionally, the truth and the observation (physical units; nil: as Build makes them):
// navier-stokes and linear-gaussian.
func Assemble(ctx context.Context, c Config, pr *Prior, truth, y []float64) (*Problem, error) {
	if pr == nil || pr.Denoiser == nil {
		return nil, fmt.Errorf("%w: Assemble needs a prior", ErrConfig)
	}
	switch c.Problem.Kind {
	case "navier-stokes", "linear-gaussian":
	default:
		return nil, fmt.Errorf("%w: Assemble supports navier-stokes and linear-gaussian, not %s", ErrConfig, c.Problem.Kind)
	}
	c.given = &given{prior: pr, truth: truth, obs: y}
	return Build(ctx, c)
}

// Observe returns y = G(truth) + noise·ε for a physical truth as Build draws it (ε from
// NoiseSeed(truth.seed, truth.index)): navier-stokes and linear-gaussian.
func Observe(ctx context.Context, c Config, truth []float64) ([]float64, error) {
	if err := checkCommon(c); err != nil {
		return nil, err
	}
	native, _, err := nativeFactory(c)
	if err != nil {
		return nil, err
	}
	n := c.Problem.Size
	if len(truth) != n*n {
		return nil, fmt.Errorf("problem: truth has %d values, want %d×%d: %w", len(truth), n, n, operator.ErrDim)
	}
	p := &Problem{Truth: truth}
	cc := c
	cc.Observation.File = ""
	if err := p.observe(ctx, cc, native, diffusion.Affine{}, c.Truth.Seed, c.Truth.Index); err != nil {
		return nil, err
	}
	return p.Observation, nil
}

func checkCommon(c Config) error {
	pr := c.Problem
	if !(pr.Noise >= 0) || math.IsInf(pr.Noise, 0) {
		return fmt.Errorf("%w: problem.noise %v must be finite and ≥ 0", ErrConfig, pr.Noise)
	}
	if !(pr.MisfitSigma >= 0) || math.IsInf(pr.MisfitSigma, 0) {
		return fmt.Errorf("%w: problem.misfit_sigma %v must be finite and ≥ 0", ErrConfig, pr.MisfitSigma)
	}
	if c.Workers < 0 {
		return fmt.Errorf("%w: workers %d must be ≥ 0", ErrConfig, c.Workers)
	}
	if pr.Kind != "image" {
		if pr.Size < 2 || pr.Stride < 1 || pr.Stride > pr.Size {
			return fmt.Errorf("%w: problem.size %d and stride %d: need size ≥ 2 and 1 ≤ stride ≤ size", ErrConfig, pr.Size, pr.Stride)
		}
		if pr.Size > 4096 {
			return fmt.Errorf("%w: problem.size %d exceeds 4096", ErrConfig, pr.Size)
		}
		// The machine's memory, a cgroup limit or ENKG_MAX_MEMORY bounds the solve (internal/memlimit).
		if err := memlimit.Check(fmt.Sprintf("problem.size %d with %d members", pr.Size, c.members()), float64(c.MemoryEstimate())); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	switch c.Truth.Source {
	case "", "prior", "file", "simulated", "generated", "dataset", "none":
	default:
		return fmt.Errorf("%w: truth.source %q (want prior, file, simulated, generated, dataset or none)", ErrConfig, c.Truth.Source)
	}
	if c.Truth.File != "" && c.Truth.Source != "" && c.Truth.Source != "file" {
		return fmt.Errorf("%w: truth.file is set but truth.source is %s", ErrConfig, c.Truth.Source)
	}
	if c.Truth.Source == "none" && c.Observation.File == "" {
		return fmt.Errorf("%w: truth.source none needs observation.file", ErrConfig)
	}
	if c.Truth.Index < 0 {
		return fmt.Errorf("%w: truth.index %d must be ≥ 0", ErrConfig, c.Truth.Index)
	}
	return nil
}

func (c Config) members() int {
	a := c.Algorithm
	switch a.Name {
	case "eki":
		if a.EKI.EqualBudget {
			return a.EnKG.Members
		}
		return a.EKI.Members
	case "dps", "forward-gsg", "central-gsg":
		return a.DPS.Members * max(1, a.DPS.Queries)
	case "dpg":
		return a.DPG.Members * max(1, a.DPG.BatchSize)
	case "scg":
		return a.SCG.Members * max(1, a.SCG.Candidates)
	case "posterior":
		return 2 * a.Posterior.Members // particles and proposals
	}
	return a.EnKG.Members
}

// MemoryEstimate returns a rough bound of the memory of a solve in bytes: about six ensemble
// arrays of n² float64 values.
func (c Config) MemoryEstimate() int64 {
	n := int64(c.Problem.Size)
	return 6 * int64(c.members()) * n * n * 8
}

// truthSource returns the effective truth source.
func (c Config) truthSource(def string) string {
	switch {
	case c.Truth.File != "":
		return "file"
	case c.Truth.Source != "":
		return c.Truth.Source
	}
	return def
}

// NoiseSeed is the seed of the noise drawn on the observation of the truth (seed, index):
// every truth gets its own noise vector, independent of the methods' seed.
func NoiseSeed(truthSeed uint64, index int) uint64 {
	return rng.Sub(rng.Sub(truthSeed, "noise"), fmt.Sprint(index))
}

// loadField reads a .npy of exactly the given shape.
func loadField(what, path string, shape []int) ([]float64, error) {
	a, err := datasets.LoadNPY(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if a.Data == nil {
		return nil, fmt.Errorf("%s: %s holds complex numbers (dtype %s), want real numbers of shape %v: %w", what, path, a.Dtype, shape, ErrConfig)
	}
	ok := len(a.Shape) == len(shape)
	for i := 0; ok && i < len(shape); i++ {
		ok = a.Shape[i] == shape[i]
	}
	if !ok {
		return nil, fmt.Errorf("%s: %s has shape %v, want %v: %w", what, path, a.Shape, shape, operator.ErrDim)
	}
	if err := operator.CheckFinite(what, a.Data); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", what, path, err)
	}
	return a.Data, nil
}

// observe returns y = G(truth) + noise·ε (the noise from NoiseSeed) or reads observation.file.
func (p *Problem) observe(ctx context.Context, c Config, native operator.Factory, toNative diffusion.Affine, seed uint64, index int) error {
	if c.Observation.File != "" {
		y, err := loadField("observation", c.Observation.File, p.ObsShape)
		if err != nil {
			return err
		}
		p.Observation = y
		return nil
	}
	op, err := native()
	if err != nil {
		return err
	}
	x := make([]float64, len(p.Truth))
	toNative.ToNormalised(x, p.Truth)
	p.Observation = make([]float64, op.OutputDim())
	if err := op.Forward(ctx, p.Observation, x); err != nil {
		return fmt.Errorf("observation: %w", err)
	}
	p.NoiseSigma = c.Problem.Noise
	if c.Problem.Noise > 0 {
		r := rng.New(NoiseSeed(seed, index))
		for i := range p.Observation {
			p.Observation[i] += c.Problem.Noise * r.NormFloat64()
		}
	}
	return nil
}

// misfit returns the Gaussian misfit of problem.noise (misfit_sigma overrides it).
func misfit(c Config) operator.Misfit {
	s := c.Problem.MisfitSigma
	if s == 0 {
		s = c.Problem.Noise
	}
	if s == 0 {
		s = 1
	}
	return operator.Gaussian{Sigma: s}
}

// compose returns the affine map from the prior's normalised space to a forward model's
// native input space: native = nat.ToNormalised(prior.ToPhysical(x)).
func compose(prior, nat diffusion.Affine) diffusion.Affine {
	sc := func(a diffusion.Affine) float64 {
		if a.Scale == 0 {
			return 1
		}
		return a.Scale
	}
	return diffusion.Affine{Scale: sc(prior) / sc(nat), Shift: (prior.Shift - nat.Shift) / sc(nat)}
}

func identity(a diffusion.Affine) bool { return (a.Scale == 1 || a.Scale == 0) && a.Shift == 0 }

// normalisedFactory returns G(x) = native(a·x) (a: compose): the native factory itself when
// a is the identity. Adjoints and VJPs carry the factor a.Scale.
func normalisedFactory(native operator.Factory, a diffusion.Affine) operator.Factory {
	if identity(a) {
		return native
	}
	return func() (operator.Operator, error) {
		op, err := native()
		if err != nil {
			return nil, err
		}
		base := &affineOp{op: op, a: a, buf: make([]float64, op.InputDim())}
		switch o := op.(type) {
		case operator.VJPer:
			return &affineVJPOp{affineOp: base, v: o}, nil
		case operator.Adjointer:
			return &affineAdjOp{affineOp: base, adj: o}, nil
		}
		return base, nil
	}
}

type affineOp struct {
	op  operator.Operator
	a   diffusion.Affine
	buf []float64
}

func (o *affineOp) InputDim() int  { return o.op.InputDim() }
func (o *affineOp) OutputDim() int { return o.op.OutputDim() }
func (o *affineOp) Forward(ctx context.Context, dst, x []float64) error {
	if len(x) != len(o.buf) {
		return fmt.Errorf("problem: input length %d, want %d: %w", len(x), len(o.buf), operator.ErrDim)
	}
	o.a.ToPhysical(o.buf, x)
	return o.op.Forward(ctx, dst, o.buf)
}

type affineAdjOp struct {
	*affineOp
	adj operator.Adjointer
}

// Adjoint is the Jacobian transpose a.Scale·Aᵀ.
func (o *affineAdjOp) Adjoint(dst, y []float64) error {
	if err := o.adj.Adjoint(dst, y); err != nil {
		return err
	}
	for i := range dst {
		dst[i] *= o.a.Scale
	}
	return nil
}

type affineVJPOp struct {
	*affineOp
	v operator.VJPer
}

func (o *affineVJPOp) VJP(dst, x, v []float64) error {
	buf := make([]float64, len(x))
	o.a.ToPhysical(buf, x)
	if err := o.v.VJP(dst, buf, v); err != nil {
		return err
	}
	for i := range dst {
		dst[i] *= o.a.Scale
	}
	return nil
}

// fieldMetrics adds PSNR and SSIM over the truth's range (single-channel n×n fields).
func (p *Problem) fieldMetrics(n int) {
	if p.Truth == nil {
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range p.Truth {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if rg := hi - lo; rg > 0 {
		p.Metrics["psnr"] = func(est, truth []float64) (float64, error) { return imaging.PSNR(est, truth, rg) }
		if n >= 11 { // SSIM's window
			p.Metrics["ssim"] = func(est, truth []float64) (float64, error) {
				return imaging.SSIM(est, truth, imaging.Shape{C: 1, H: n, W: n}, rg)
			}
		}
	}
}

// heldOut refuses a truth seed that generated the prior's training set.
func heldOut(seed uint64, pr *Prior, declared []uint64) error {
	for _, s := range append(append([]uint64(nil), pr.TrainSeeds...), declared...) {
		if s == seed {
			return fmt.Errorf("%w: truth.seed %d is the seed of the prior's training set: the truth would be a training field", ErrConfig, seed)
		}
	}
	return nil
}

// Physical converts a result of the methods (normalised space) to physical units in place:
// the ensemble and mean through the normalisation, the spread scaled by |Norm.Scale|.
func (p *Problem) Physical(r *guidance.Result) {
	a := p.Prior.Norm
	if identity(a) {
		return
	}
	a.PhysicalDense(r.Ensemble)
	a.ToPhysical(r.Mean, r.Mean)
	s := math.Abs(a.Scale)
	for i := range r.Std {
		r.Std[i] *= s
	}
}

// Run solves the problem with m and returns the result in physical units with its metrics:
// rel_l2 (and the kind's metrics) of the mean against the truth, data_misfit_of_mean, and
// for linear-gaussian rel_l2_to_posterior_mean and posterior_mean_rel_l2. On cancellation
// the partial result comes with the error.
func (p *Problem) Run(ctx context.Context, m guidance.Method, opt guidance.Options) (*guidance.Result, error) {
	res, err := guidance.Solve(ctx, p.Guidance, m, opt)
	if res == nil {
		return nil, err
	}
	p.Physical(res)
	if e := p.Evaluate(ctx, res); e != nil && err == nil {
		err = e
	}
	return res, err
}

// Evaluate fills res.Metrics for a result in physical units.
func (p *Problem) Evaluate(ctx context.Context, res *guidance.Result) error {
	if res.Metrics == nil {
		res.Metrics = map[string]float64{}
	}
	if p.Truth != nil {
		if err := res.Evaluate(p.Truth, p.Metrics); err != nil {
			return err
		}
	}
	if p.PosteriorMean != nil {
		if v, err := guidance.RelL2(res.Mean, p.PosteriorMean); err == nil {
			res.Metrics["rel_l2_to_posterior_mean"] = v
		}
		if p.Truth != nil {
			if v, err := guidance.RelL2(p.PosteriorMean, p.Truth); err == nil {
				res.Metrics["posterior_mean_rel_l2"] = v
			}
		}
	}
	if err := p.uncertainty(res); err != nil {
		return err
	}
	v, err := p.DataMisfit(ctx, res.Mean)
	if err != nil {
		return err
	}
	res.Metrics["data_misfit_of_mean"] = v
	return nil
}

// uncertainty adds, for an ensemble of at least 2 members, the per-pixel std summary
// (std_mean, std_median, std_max) and, with a truth, coverage_L for every level of
// CalibrationLevels (coverage_10 … coverage_99): the fraction of pixels whose truth lies in
// the central interval of that level of the ensemble (coverage_90: between its 5 % and 95 %
// quantiles); the level itself for a calibrated sampler. One sort of each pixel's members
// serves every level, and calibration.png is drawn from these metrics.
func (p *Problem) uncertainty(res *guidance.Result) error {
	if res.Ensemble == nil {
		return nil
	}
	if j, _ := res.Ensemble.Dims(); j < 2 || len(res.Std) == 0 {
		return nil
	}
	var sum, mx float64
	for _, v := range res.Std {
		sum += v
		mx = math.Max(mx, v)
	}
	res.Metrics["std_mean"] = sum / float64(len(res.Std))
	res.Metrics["std_median"] = guidance.Median(res.Std)
	res.Metrics["std_max"] = mx
	if p.Truth != nil && len(p.Truth) == len(res.Std) {
		lo, hi, err := guidance.CredibleIntervals(res.Ensemble, CalibrationLevels)
		if err != nil {
			return err
		}
		for l, level := range CalibrationLevels {
			res.Metrics[coverageKey(level)] = guidance.Coverage(lo[l], hi[l], p.Truth)
		}
	}
	return nil
}

// coverageKey is the metrics key of the coverage at a nominal level: coverage_90 for 0.9.
func coverageKey(level float64) string {
	return fmt.Sprintf("coverage_%.0f", 100*level)
}

// DataMisfit returns Loss(G(x), y) for a field x in physical units.
func (p *Problem) DataMisfit(ctx context.Context, x []float64) (float64, error) {
	op, err := p.Guidance.Forward()
	if err != nil {
		return 0, err
	}
	xn := make([]float64, len(x))
	p.Prior.Norm.ToNormalised(xn, x)
	mf := p.Guidance.Misfit
	if mf == nil {
		mf = operator.Gaussian{Sigma: 1}
	}
	return guidance.DataMisfit(ctx, op, mf, xn, p.Observation)
}

// PriorMean returns the prior mean as a one-member result with its metrics (the estimate
// without data).
func (p *Problem) PriorMean(ctx context.Context) (*guidance.Result, error) {
	m, err := p.Prior.Mean(ctx)
	if err != nil {
		return nil, err
	}
	res := &guidance.Result{Method: "prior mean", Ensemble: mat.NewDense(1, len(m), append([]float64(nil), m...)),
		Mean: m, Std: make([]float64, len(m)), Metrics: map[string]float64{}}
	return res, p.Evaluate(ctx, res)
}

// LinearPosteriorMean returns the exact posterior mean (physical units) of a Gaussian prior
// (exact, with a covariance: DiagGaussian, Gaussian, SpectralGaussian) for y = A·w + N(0, s²I)
// with A linear on physical fields (an operator.Adjointer; A is assembled from Forward on the
// unit vectors): μ + ΣAᵀ(AΣAᵀ + s²I)⁻¹(y − Aμ), with μ and Σ the prior's in physical units.
// It returns nil when the prior is not such a Gaussian, A is not an Adjointer, or the field
// has more than 4096 values.
func LinearPosteriorMean(ctx context.Context, pr *Prior, native operator.Factory, y []float64, noise float64) []float64 {
	if pr == nil || pr.Exact == nil || native == nil {
		return nil
	}
	d := pr.Exact.Dim()
	if d > 4096 {
		return nil
	}
	op, err := native()
	if err != nil || op.InputDim() != d || op.OutputDim() != len(y) {
		return nil
	}
	if _, ok := op.(operator.Adjointer); !ok {
		return nil
	}
	sc := pr.Norm.Scale
	if sc == 0 {
		sc = 1
	}
	mu := make([]float64, d)
	var cov mat.Symmetric
	switch g := pr.Exact.(type) {
	case *diffusion.Gaussian:
		copy(mu, g.Mean())
		cov = g.Cov()
	case *diffusion.SpectralGaussian:
		copy(mu, g.Mean())
		cov = g.Covariance()
	case *diffusion.DiagGaussian:
		copy(mu, g.Mean())
		cov = mat.NewDiagDense(d, append([]float64(nil), g.Variance()...))
	default:
		return nil
	}
	pr.Norm.ToPhysical(mu, mu)
	m := len(y)
	a := mat.NewDense(m, d, nil)
	e, col := make([]float64, d), make([]float64, m)
	for j := 0; j < d; j++ {
		e[j] = 1
		if err := op.Forward(ctx, col, e); err != nil {
			return nil
		}
		e[j] = 0
		a.SetCol(j, col)
	}
	var sat mat.Dense
	sat.Mul(cov, a.T()) // ΣAᵀ (normalised Σ; physical Σ = sc²Σ)
	sat.Scale(sc*sc, &sat)
	k := mat.NewSymDense(m, nil)
	var ask mat.Dense
	ask.Mul(a, &sat)
	for i := 0; i < m; i++ {
		for j := i; j < m; j++ {
			k.SetSym(i, j, (ask.At(i, j)+ask.At(j, i))/2)
		}
		k.SetSym(i, i, k.At(i, i)+noise*noise+1e-10)
	}
	r := mat.NewVecDense(m, append([]float64(nil), y...))
	var amu mat.VecDense
	amu.MulVec(a, mat.NewVecDense(d, mu))
	r.SubVec(r, &amu)
	var ch mat.Cholesky
	if !ch.Factorize(k) {
		return nil
	}
	var z mat.VecDense
	if err := ch.SolveVecTo(&z, r); err != nil {
		return nil
	}
	var out mat.VecDense
	out.MulVec(&sat, &z)
	for i := range mu {
		mu[i] += out.AtVec(i)
	}
	return mu
}
