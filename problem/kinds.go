package problem

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/pde"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

// Stride is the linear operator y = x[::s, ::s] on an n×n grid, with its adjoint.
type Stride struct{ N, S int }

func (o Stride) m() int { return (o.N + o.S - 1) / o.S }

// InputDim returns n².
func (o Stride) InputDim() int { return o.N * o.N }

// OutputDim returns ⌈n/s⌉².
func (o Stride) OutputDim() int { return o.m() * o.m() }

// Forward writes x[::s, ::s].
func (o Stride) Forward(_ context.Context, dst, x []float64) error {
	if err := operator.CheckDims(o, dst, x); err != nil {
		return err
	}
	m := o.m()
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			dst[i*m+j] = x[i*o.S*o.N+j*o.S]
		}
	}
	return operator.CheckFinite("input", x)
}

// Adjoint scatters y back onto the observed points.
func (o Stride) Adjoint(dst, y []float64) error {
	if len(dst) != o.InputDim() || len(y) != o.OutputDim() {
		return fmt.Errorf("stride adjoint lengths %d, %d: %w", len(dst), len(y), operator.ErrDim)
	}
	for i := range dst {
		dst[i] = 0
	}
	m := o.m()
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			dst[i*o.S*o.N+j*o.S] = y[i*m+j]
		}
	}
	return nil
}

// Indices returns the flat indices of the observed points.
func (o Stride) Indices() []int {
	m := o.m()
	idx := make([]int, 0, m*m)
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			idx = append(idx, i*o.S*o.N+j*o.S)
		}
	}
	return idx
}

// nativeFactory returns the forward model of the gridded kinds on physical fields and the
// observation side.
func nativeFactory(c Config) (operator.Factory, int, error) {
	n, s := c.Problem.Size, c.Problem.Stride
	m := (n + s - 1) / s
	switch c.Problem.Kind {
	case "linear-gaussian":
		op := Stride{N: n, S: s}
		return func() (operator.Operator, error) { return op, nil }, m, nil
	case "navier-stokes":
		if !(c.Problem.Re > 0) || math.IsInf(c.Problem.Re, 0) || !(c.Problem.T > 0) || math.IsInf(c.Problem.T, 0) {
			return nil, 0, fmt.Errorf("%w: problem.re %v and problem.t %v must be finite and > 0", ErrConfig, c.Problem.Re, c.Problem.T)
		}
		f, err := pde.OperatorFactory(nsSettings(c, 1))
		if err != nil {
			return nil, 0, fmt.Errorf("problem: %w", err)
		}
		return f, m, nil
	}
	return nil, 0, fmt.Errorf("%w: no native forward model for %s", ErrConfig, c.Problem.Kind)
}

// MaxForwardSteps caps the adaptive time steps of one Navier–Stokes forward solve.
var MaxForwardSteps = 200000

// nsSettings are the Navier–Stokes operator settings with the input scale.
func nsSettings(c Config, scale float64) pde.OperatorSettings {
	sol := pde.DefaultSettings()
	sol.Re = c.Problem.Re
	// A member whose flow blows up (a wild ensemble member or baseline iterate) shrinks the
	// adaptive step without end; stop it after MaxForwardSteps steps (a 64² solve to T = 1
	// takes a few hundred) instead of the solver's default ten million.
	sol.MaxSteps = MaxForwardSteps
	return pde.OperatorSettings{Nx: c.Problem.Size, Ny: c.Problem.Size, Scale: scale, T: c.Problem.T, Stride: c.Problem.Stride, Solver: &sol}
}

// priorFor returns the given prior (Assemble) or builds it.
func priorFor(ctx context.Context, c Config, n int) (*Prior, error) {
	if c.given != nil && c.given.prior != nil {
		if d := c.given.prior.Denoiser.Dim(); d != n*n {
			return nil, fmt.Errorf("prior: dimension %d, fields are %d×%d: %w", d, n, n, operator.ErrDim)
		}
		return c.given.prior, nil
	}
	pr, err := buildPrior(ctx, c, n, n)
	if err != nil {
		return nil, fmt.Errorf("prior: %w", err)
	}
	return pr, nil
}

// givenData applies Assemble's truth and observation.
func (p *Problem) givenData(c Config) (bool, error) {
	if c.given == nil || c.given.truth == nil {
		return false, nil
	}
	if len(c.given.truth) != p.Shape[0]*p.Shape[1] {
		return false, fmt.Errorf("problem: given truth has %d values: %w", len(c.given.truth), operator.ErrDim)
	}
	p.Truth = c.given.truth
	if c.given.obs != nil {
		if len(c.given.obs) != p.ObsShape[0]*p.ObsShape[1] {
			return false, fmt.Errorf("problem: given observation has %d values: %w", len(c.given.obs), operator.ErrDim)
		}
		p.Observation = c.given.obs
		return true, nil
	}
	return false, nil
}

// priorTruth draws the truth from the prior (a stream of its own, never an ensemble
// member's) in physical units.
func priorTruth(ctx context.Context, pr *Prior, seed uint64) ([]float64, error) {
	if pr.Sampler == nil {
		return nil, fmt.Errorf("%w: truth.source prior: this prior cannot be sampled", ErrConfig)
	}
	t := mat.NewDense(1, pr.Sampler.Dim(), nil)
	if err := pr.Sampler.Sample(ctx, t, rng.Sub(seed, "truth")); err != nil {
		return nil, fmt.Errorf("truth: %w", err)
	}
	x := t.RawMatrix().Data
	pr.Norm.ToPhysical(x, x)
	return x, nil
}

// gridTruth returns the truth of a gridded kind: from truth.file, the prior, or sim.
func gridTruth(ctx context.Context, c Config, pr *Prior, n int, def string, sim func() ([]float64, error)) ([]float64, error) {
	switch src := c.truthSource(def); src {
	case "file":
		return loadField("truth", c.Truth.File, []int{n, n})
	case "prior":
		return priorTruth(ctx, pr, c.Truth.Seed)
	case "none":
		return nil, nil
	case "simulated":
		if sim != nil {
			return sim()
		}
		fallthrough
	default:
		return nil, fmt.Errorf("%w: truth.source %s is not available for %s", ErrConfig, src, c.Problem.Kind)
	}
}

// buildLinear: y = x[::s, ::s] + noise, the exact posterior mean for Gaussian priors.
func buildLinear(ctx context.Context, c Config) (*Problem, error) {
	n, s := c.Problem.Size, c.Problem.Stride
	pr, err := priorFor(ctx, c, n)
	if err != nil {
		return nil, err
	}
	op := Stride{N: n, S: s}
	m := op.m()
	p := &Problem{Shape: []int{n, n}, ObsShape: []int{m, m}, Prior: pr, Metrics: map[string]guidance.Metric{}}
	haveY := false
	if c.given != nil && c.given.truth != nil {
		if haveY, err = p.givenData(c); err != nil {
			return nil, err
		}
	} else if p.Truth, err = gridTruth(ctx, c, pr, n, "prior", nil); err != nil {
		return nil, err
	}
	native := func() (operator.Operator, error) { return op, nil }
	if !haveY && (p.Truth != nil || c.Observation.File != "") {
		if err := p.observe(ctx, c, native, diffusion.Affine{}, c.Truth.Seed, c.Truth.Index); err != nil {
			return nil, err
		}
	}
	p.Guidance = &guidance.Problem{Observation: p.Observation, Forward: normalisedFactory(native, compose(pr.Norm, diffusion.Affine{})),
		Misfit: misfit(c), Prior: pr.Denoiser, Sampler: pr.Sampler, Locality: torus(n, s)}
	p.fieldMetrics(n)
	p.PosteriorMean = LinearPosteriorMean(ctx, pr, native, p.Observation, c.Problem.Noise)
	return p, nil
}

// torus is the Locality of the gridded kinds: the n×n grid on the 2π-periodic square observed
// on every s-th point.
func torus(n, s int) guidance.Locality {
	return guidance.PeriodicGrid{N: n, Stride: s, Length: 2 * math.Pi}
}

// SimulatedTruth returns field index of `enkg data ns --seed seed` with the same grid and
// Re: a GRF(2.5, 7) initial vorticity from rng.Stream(seed, index), spun up for spinup time
// units.
func SimulatedTruth(ctx context.Context, n int, re, spinup float64, seed uint64, index int) ([]float64, error) {
	if !(spinup >= 0) || math.IsInf(spinup, 0) {
		return nil, fmt.Errorf("%w: truth.spinup %v must be finite and ≥ 0", ErrConfig, spinup)
	}
	g, err := spectral.NewGRF(n, n, spectral.GRFSettings{Alpha: 2.5, Tau: 7})
	if err != nil {
		return nil, err
	}
	ps := pde.DefaultSettings()
	ps.Re = re
	sol, err := pde.NewSolver(n, n, &ps)
	if err != nil {
		return nil, err
	}
	w := make([]float64, n*n)
	g.Sample(w, rng.Stream(seed, index))
	if spinup > 0 {
		if err := sol.Solve(ctx, w, w, spinup); err != nil {
			return nil, fmt.Errorf("truth: spin-up: %w", err)
		}
	}
	return w, nil
}

// buildNavierStokes: the unknown is the vorticity w (physical units) on the 2π-periodic n×n
// grid, y = Φ_T(w)[::s, ::s] + noise, Φ_T the forced Navier–Stokes flow over T time units.
func buildNavierStokes(ctx context.Context, c Config) (*Problem, error) {
	pr0 := c.Problem
	n, s := pr0.Size, pr0.Stride
	if !(pr0.Re > 0) || math.IsInf(pr0.Re, 0) || !(pr0.T > 0) || math.IsInf(pr0.T, 0) {
		return nil, fmt.Errorf("%w: problem.re %v and problem.t %v must be finite and > 0", ErrConfig, pr0.Re, pr0.T)
	}
	pr, err := priorFor(ctx, c, n)
	if err != nil {
		return nil, err
	}
	// The native operator takes vorticity (Scale 1); the prior's normalisation is composed in.
	native, _, err := nativeFactory(c)
	if err != nil {
		return nil, err
	}
	forward := normalisedFactory(native, pr.Norm)
	if pr.Norm.Shift == 0 && pr.Norm.Scale > 0 { // the operator scales itself: no wrapper
		if forward, err = pde.OperatorFactory(nsSettings(c, pr.Norm.Scale)); err != nil {
			return nil, fmt.Errorf("problem: %w", err)
		}
	}
	m := (n + s - 1) / s
	p := &Problem{Shape: []int{n, n}, ObsShape: []int{m, m}, Prior: pr, Metrics: map[string]guidance.Metric{}}
	src := c.truthSource("prior")
	haveY := false
	if c.given != nil && c.given.truth != nil {
		src = "given"
		if haveY, err = p.givenData(c); err != nil {
			return nil, err
		}
	}
	if src == "simulated" {
		if c.Truth.Seed > MaxSeed {
			return nil, fmt.Errorf("%w: truth.seed %d exceeds 2⁶³ − 1", ErrConfig, c.Truth.Seed)
		}
		if err := heldOut(c.Truth.Seed, pr, c.Prior.TrainSeeds); err != nil {
			return nil, err
		}
	}
	if src != "given" {
		p.Truth, err = gridTruth(ctx, c, pr, n, "prior", func() ([]float64, error) {
			return SimulatedTruth(ctx, n, pr0.Re, c.Truth.Spinup, c.Truth.Seed, c.Truth.Index)
		})
		if err != nil {
			return nil, err
		}
	}
	if !haveY && (p.Truth != nil || c.Observation.File != "") {
		if err := p.observe(ctx, c, native, diffusion.Affine{}, c.Truth.Seed, c.Truth.Index); err != nil {
			return nil, err
		}
	}
	p.Guidance = &guidance.Problem{Observation: p.Observation, Forward: forward, Misfit: misfit(c), Prior: pr.Denoiser, Sampler: pr.Sampler,
		Locality: torus(n, s)}
	p.fieldMetrics(n)
	return p, nil
}
