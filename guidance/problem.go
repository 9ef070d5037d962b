package guidance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// VJPDenoiser is a Denoiser that can also apply the transpose of its Jacobian,
// dst_i = (∂D(x_i; σ)/∂x_i)ᵀ·v_i: what automatic differentiation through the network
// computes in DPS, GSG and DPG. Exact priors (Gaussian: J_D = v/(v+σ²)·I) implement it.
type VJPDenoiser interface {
	diffusion.Denoiser
	DenoiseVJP(ctx context.Context, dst, x, v *mat.Dense, sigma float64) error
}

// Sampler draws independent samples of a prior: Sample fills every row of dst with a draw,
// row j from the stream rng.Stream(seed, j) (diffusion.DiagGaussian and the other exact
// priors of package diffusion implement it). EKI starts from such samples.
type Sampler interface {
	Sample(ctx context.Context, dst *mat.Dense, seed uint64) error
	Dim() int
}

// Problem is an inverse problem: recover x from Observation = G(x) + noise.
type Problem struct {
	// Observation is y (length G.OutputDim()).
	Observation []float64
	// Forward creates forward-model instances G (one per worker).
	Forward operator.Factory
	// Misfit is the data term; nil means operator.Gaussian{Sigma: 1} (half the squared L2
	// distance, whose gradient is y − y_obs as in the published EnKG code).
	Misfit operator.Misfit
	// Prior is the diffusion prior (EnKG and the diffusion baselines).
	Prior diffusion.Denoiser
	// Sampler draws prior samples (EKI).
	Sampler Sampler
	// Locality, when non-nil, gives the positions of the state and the data, for localized
	// ensemble Kalman updates (EnKGSettings.Localization, EKISettings.Localization).
	Locality Locality
}

func (p *Problem) misfit() operator.Misfit {
	if p.Misfit == nil {
		return operator.Gaussian{Sigma: 1}
	}
	return p.Misfit
}

// Needs lists what a method requires of a problem (like gonum's optimize.Needs).
type Needs struct {
	Prior       bool // a diffusion.Denoiser
	DenoiserVJP bool // a VJPDenoiser
	Adjoint     bool // operator.Adjointer (linear) or operator.VJPer (nonlinear) on a VJPEngine
	Sampler     bool // a prior Sampler
}

// Method is a guidance algorithm. Needs is checked by Solve before any evaluation, so a method
// that cannot run on a problem fails at once with a clear error.
type Method interface {
	Name() string
	Needs() Needs
	// Ensemble is the number of members (independent samples) the method returns.
	Ensemble() int
	// Run solves p on eng. On cancellation it returns the partial state with ctx.Err().
	Run(ctx context.Context, p *Problem, eng Engine, rec Recorder) (*Result, error)
}

// Options configure Solve.
type Options struct {
	// Workers is the number of workers of the local engine (GOMAXPROCS if ≤ 0).
	Workers int
	// Engine replaces the local engine when non-nil (Workers is then ignored).
	Engine Engine
	// Evaluator, when non-nil and Engine is nil, evaluates the forward model instead of a
	// local pool (e.g. on other machines); Solve counts it (NewCounted) and does the rest here
	// with Workers goroutines. Methods that need the model's gradients (DPS) need Engine or
	// the local pool.
	Evaluator Evaluator
	// Recorder receives per-step diagnostics (nil: none).
	Recorder Recorder
	// Checkpoint, when non-nil, is called with the run's state after every step (a method
	// that is not Resumable is then an error); Checkpoint.Save writes it to a file.
	Checkpoint func(*Checkpoint) error
	// Resume, when non-nil, continues the run it describes (LoadCheckpoint) instead of
	// starting afresh; the final ensemble is bit-identical to that of an uninterrupted run.
	Resume *Checkpoint
}

// Solve checks that m can run on p, builds the engine, and runs m. The result holds the
// final ensemble, its mean and spread, and the evaluation counts; on cancellation the partial
// result is returned together with ctx.Err().
func Solve(ctx context.Context, p *Problem, m Method, opt Options) (*Result, error) {
	if p == nil || m == nil {
		return nil, errors.New("guidance: nil problem or method")
	}
	if _, ok := m.(Resumable); !ok && (opt.Checkpoint != nil || opt.Resume != nil) {
		return nil, fmt.Errorf("guidance: %s cannot be checkpointed or resumed (EnKG and EKI can)", m.Name())
	}
	eng := opt.Engine
	if eng == nil && opt.Evaluator != nil {
		eng = NewCounted(opt.Evaluator, opt.Workers)
	}
	if eng == nil {
		if p.Forward == nil {
			return nil, errors.New("guidance: problem has no forward-model factory")
		}
		l, err := NewLocal(p.Forward, opt.Workers)
		if err != nil {
			return nil, err
		}
		eng = l
	}
	if err := Check(p, m, eng); err != nil {
		return nil, err
	}
	rec := opt.Recorder
	if rec == nil {
		rec = NopRecorder{}
	}
	if r, ok := m.(Resumable); ok && (opt.Checkpoint != nil || opt.Resume != nil) {
		return r.RunFrom(ctx, p, eng, rec, opt.Resume, opt.Checkpoint)
	}
	return m.Run(ctx, p, eng, rec)
}

// Check returns an error naming everything m needs that p (with engine eng) lacks, and any
// dimension mismatch between observation, forward model and prior.
func Check(p *Problem, m Method, eng Engine) error {
	if len(p.Observation) != eng.OutputDim() {
		return fmt.Errorf("guidance: observation has length %d, the forward model outputs %d: %w",
			len(p.Observation), eng.OutputDim(), operator.ErrDim)
	}
	if err := operator.CheckFinite("observation", p.Observation); err != nil {
		return fmt.Errorf("guidance: %w", err)
	}
	n := m.Needs()
	var miss []string
	if (n.Prior || n.DenoiserVJP) && p.Prior == nil {
		miss = append(miss, "a diffusion prior (Problem.Prior)")
	}
	if p.Prior != nil && (n.Prior || n.DenoiserVJP) && p.Prior.Dim() != eng.InputDim() {
		return fmt.Errorf("guidance: prior dimension %d, forward-model input %d: %w", p.Prior.Dim(), eng.InputDim(), operator.ErrDim)
	}
	if n.DenoiserVJP && p.Prior != nil {
		if _, ok := p.Prior.(VJPDenoiser); !ok {
			miss = append(miss, fmt.Sprintf("a denoiser with vector–Jacobian products (VJPDenoiser; %T is not)", p.Prior))
		}
	}
	if n.Adjoint {
		if !hasGradient(eng) {
			miss = append(miss, "a linear forward model with an adjoint (operator.Adjointer) or a Jacobian-transpose product (operator.VJPer): it uses exact gradients of G")
		}
	}
	if n.Sampler {
		if p.Sampler == nil {
			miss = append(miss, "a prior sampler (Problem.Sampler)")
		} else if p.Sampler.Dim() != eng.InputDim() {
			return fmt.Errorf("guidance: sampler dimension %d, forward-model input %d: %w", p.Sampler.Dim(), eng.InputDim(), operator.ErrDim)
		}
	}
	if len(miss) > 0 {
		return fmt.Errorf("guidance: %s cannot run on this problem: it needs %s", m.Name(), strings.Join(miss, " and "))
	}
	return nil
}
