package problem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/diffusion/unet"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

// Prior is a built prior: a denoiser (and, where possible, a sampler) in the normalised
// space x, with the normalisation physical = Norm.Scale·x + Norm.Shift.
type Prior struct {
	Denoiser diffusion.Denoiser
	// Sampler draws prior samples (EKI's initial ensemble); for a U-Net it integrates the
	// probability-flow ODE (EDM, 18 Heun steps).
	Sampler guidance.Sampler
	Norm    diffusion.Affine
	// Exact is the prior when it is known in closed form (exact priors of package diffusion).
	Exact diffusion.Prior
	// TrainSeeds are the seeds of the training set when known (held-out truths must differ).
	TrainSeeds []uint64
	// Inputs are the files read.
	Inputs []string
}

// Mean returns the prior mean in physical units: exact for priors that know it, D(0; 10⁸)
// (the denoiser's limit at infinite noise) otherwise.
func (p *Prior) Mean(ctx context.Context) ([]float64, error) {
	d := p.Denoiser.Dim()
	m := make([]float64, d)
	if pm, ok := p.Exact.(interface{ Mean() []float64 }); ok && p.Exact != nil {
		copy(m, pm.Mean())
	} else {
		dst := mat.NewDense(1, d, m)
		if err := p.Denoiser.Denoise(ctx, dst, mat.NewDense(1, d, nil), 1e8); err != nil {
			return nil, err
		}
	}
	p.Norm.ToPhysical(m, m)
	return m, nil
}

// Dataset is a stack of training fields in physical units.
type Dataset struct {
	Fields *mat.Dense // one field per row
	Nx, Ny int
	// Seed is the seed the set was generated with, when the file records it.
	Seed    uint64
	HasSeed bool
}

// Reader reads the first max fields (max ≤ 0: all) of a dataset file.
type Reader func(path string, max int) (*Dataset, error)

var readers sync.Map // extension → Reader

// RegisterReader makes prior.data accept files with the extension ext (".h5"): cmd/enkg
// registers the HDF5 reader, which needs cgo, so that this package does not.
func RegisterReader(ext string, r Reader) { readers.Store(strings.ToLower(ext), r) }

// ReadDataset reads a training set: a .npy stack (N, nx, ny), or a file of a registered
// Reader.
func ReadDataset(path string, max int) (*Dataset, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if r, ok := readers.Load(ext); ok {
		return r.(Reader)(path, max)
	}
	if ext != ".npy" {
		return nil, fmt.Errorf("%s: %w: no reader for %q files (.npy stacks; .h5 through cmd/enkg or RegisterReader)", path, ErrConfig, ext)
	}
	a, err := datasets.LoadNPY(path)
	if err != nil {
		return nil, err
	}
	if a.Data == nil || len(a.Shape) != 3 {
		return nil, fmt.Errorf("%s: shape %v: %w: want a real stack (N, nx, ny)", path, a.Shape, ErrConfig)
	}
	n, nx, ny := a.Shape[0], a.Shape[1], a.Shape[2]
	if max > 0 && max < n {
		n = max
	}
	return &Dataset{Fields: mat.NewDense(n, nx*ny, a.Data[:n*nx*ny]), Nx: nx, Ny: ny}, nil
}

// priorNorm returns the normalisation a prior file carries.
func priorNorm(p diffusion.Prior) diffusion.Affine {
	switch g := p.(type) {
	case *diffusion.DiagGaussian:
		return g.Norm
	case *diffusion.Gaussian:
		return g.Norm
	case *diffusion.SpectralGaussian:
		return g.Norm
	case *diffusion.GMM:
		return g.Norm
	case *diffusion.Empirical:
		return g.Norm
	}
	return diffusion.Affine{}
}

func setPriorNorm(p diffusion.Prior, a diffusion.Affine) {
	switch g := p.(type) {
	case *diffusion.DiagGaussian:
		g.Norm = a
	case *diffusion.Gaussian:
		g.Norm = a
	case *diffusion.SpectralGaussian:
		g.Norm = a
	case *diffusion.GMM:
		g.Norm = a
	case *diffusion.Empirical:
		g.Norm = a
	}
}

// loaded caches prior files and U-Nets within a process: a study solves many truths on one
// prior.
var loaded sync.Map

// exactPrior wraps an exact prior; Gaussian ones get exact vector–Jacobian products
// (guidance.AffineVJP) for the gradient baselines.
func exactPrior(p diffusion.Prior, files ...string) *Prior {
	out := &Prior{Denoiser: p, Sampler: p, Norm: priorNorm(p), Exact: p, Inputs: files}
	switch p.(type) {
	case *diffusion.DiagGaussian, *diffusion.Gaussian, *diffusion.SpectralGaussian:
		out.Denoiser = guidance.NewAffineVJP(p)
	}
	return out
}

// defaultNorm is the normalisation of a kind's priors that carry none.
func defaultNorm(c Config) diffusion.Affine {
	a := diffusion.Affine{Scale: c.Prior.Scale, Shift: c.Prior.Shift}
	if a.Scale == 0 {
		switch c.Problem.Kind {
		case "navier-stokes":
			a.Scale = 10
		case "blackhole":
			a.Scale, a.Shift = 0.5, 0.5
		default:
			a.Scale = 1
		}
	}
	return a
}

// buildPrior builds the prior of c for fields of dimension nx·ny (gridded kinds).
func buildPrior(ctx context.Context, c Config, nx, ny int) (*Prior, error) {
	pc := c.Prior
	d := nx * ny
	norm := defaultNorm(c)
	if err := norm.Valid(); err != nil {
		return nil, err
	}
	own := pc.Kind == "file" || pc.Kind == "unet"
	if own && (pc.Scale != 0 || pc.Shift != 0) {
		return nil, fmt.Errorf("%w: prior.scale and prior.shift are set, but a %s prior carries its own normalisation", ErrConfig, pc.Kind)
	}
	switch pc.Kind {
	case "gaussian":
		if !(pc.Variance > 0) || math.IsInf(pc.Variance, 0) {
			return nil, fmt.Errorf("%w: prior.variance %v must be finite and > 0", ErrConfig, pc.Variance)
		}
		g, err := diffusion.NewIsotropicGaussian(d, 0, pc.Variance)
		if err != nil {
			return nil, err
		}
		g.Norm = norm
		return exactPrior(g), nil
	case "grf", "grf-fit":
		if nx%2 != 0 || ny%2 != 0 {
			return nil, fmt.Errorf("%w: prior %s needs an even size, got %d×%d", ErrConfig, pc.Kind, nx, ny)
		}
		grf, err := spectral.NewGRF(nx, ny, spectral.GRFSettings{Alpha: pc.Alpha, Tau: pc.Tau})
		if err != nil {
			return nil, err
		}
		if norm.Shift != 0 {
			return nil, fmt.Errorf("%w: prior %s: shift %v (the GRF has mean 0)", ErrConfig, pc.Kind, norm.Shift)
		}
		if pc.Kind == "grf" {
			sg, err := diffusion.NewSpectralGaussianFromGRF(grf)
			if err != nil {
				return nil, err
			}
			pw := append([]float64(nil), sg.Power()...)
			for i := range pw {
				pw[i] /= norm.Scale * norm.Scale
			}
			if sg, err = diffusion.NewSpectralGaussian(nx, ny, nil, pw); err != nil {
				return nil, err
			}
			sg.Norm = norm
			return exactPrior(sg), nil
		}
		if pc.Samples < 2 {
			return nil, fmt.Errorf("%w: prior grf-fit needs at least 2 samples, got %d", ErrConfig, pc.Samples)
		}
		data := mat.NewDense(pc.Samples, d, nil)
		if err := grf.SampleBatch(ctx, data.RawMatrix().Data, rng.Sub(c.Seed, "prior-data"), c.Workers); err != nil {
			return nil, err
		}
		data.Scale(1/norm.Scale, data)
		sg, err := diffusion.FitSpectralGaussian(nx, ny, data, diffusion.SpectralFitSettings{})
		if err != nil {
			return nil, err
		}
		sg.Norm = norm
		return exactPrior(sg), nil
	case "file":
		if pc.File == "" {
			return nil, fmt.Errorf("%w: prior.kind file needs prior.file", ErrConfig)
		}
		p, err := loadPriorFile(pc.File)
		if err != nil {
			return nil, err
		}
		if p.Dim() != d {
			return nil, fmt.Errorf("%w: prior %s has dimension %d, fields are %d×%d", ErrConfig, pc.File, p.Dim(), nx, ny)
		}
		if sg, ok := p.(*diffusion.SpectralGaussian); ok {
			if gx, gy := sg.Grid(); gx != nx || gy != ny {
				return nil, fmt.Errorf("%w: prior %s is on a %d×%d grid, fields are %d×%d", ErrConfig, pc.File, gx, gy, nx, ny)
			}
		}
		return exactPrior(p, pc.File), nil
	case "fit":
		return fitPrior(ctx, c, nx, ny, norm)
	case "unet":
		return unetPrior(c, d)
	}
	return nil, fmt.Errorf("%w: prior.kind %q (want gaussian, grf, grf-fit, file, fit or unet; gmm or empirical for blackhole and image)", ErrConfig, pc.Kind)
}

func loadPriorFile(path string) (diffusion.Prior, error) {
	abs, _ := filepath.Abs(path)
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("prior:%s:%d:%d", abs, st.Size(), st.ModTime().UnixNano())
	if p, ok := loaded.Load(key); ok {
		return p.(diffusion.Prior), nil
	}
	p, err := diffusion.LoadPrior(path)
	if err != nil {
		return nil, fmt.Errorf("prior %s: %w", path, err)
	}
	loaded.Store(key, p)
	return p, nil
}

// fitPrior fits prior.fit to the training fields of prior.data in the normalised space, or
// loads the fit cached in prior.file.
func fitPrior(ctx context.Context, c Config, nx, ny int, norm diffusion.Affine) (*Prior, error) {
	pc := c.Prior
	if pc.Data == "" {
		return nil, fmt.Errorf("%w: prior.kind fit needs prior.data (a training set)", ErrConfig)
	}
	if pc.Train < 0 || pc.Train == 1 {
		return nil, fmt.Errorf("%w: prior.train %d: 0 (all) or at least 2 fields", ErrConfig, pc.Train)
	}
	// The training set is opened even with a cached fit: its seed guards the held-out truth.
	ds, err := ReadDataset(pc.Data, pc.Train)
	if err != nil {
		return nil, fmt.Errorf("prior.data: %w", err)
	}
	if ds.Nx != nx || ds.Ny != ny {
		return nil, fmt.Errorf("%w: prior.data %s holds %d×%d fields, the problem is %d×%d", ErrConfig, pc.Data, ds.Nx, ds.Ny, nx, ny)
	}
	if r, _ := ds.Fields.Dims(); pc.Train > 0 && r < pc.Train {
		return nil, fmt.Errorf("%w: prior.data %s holds %d fields, prior.train is %d", ErrConfig, pc.Data, r, pc.Train)
	}
	var seeds []uint64
	if ds.HasSeed {
		seeds = []uint64{ds.Seed}
	}
	if pc.File != "" {
		if _, err := os.Stat(pc.File); err == nil {
			p, err := loadPriorFile(pc.File)
			if err != nil {
				return nil, fmt.Errorf("%w (delete the cache to refit)", err)
			}
			if p.Dim() != nx*ny || priorNorm(p) != norm {
				return nil, fmt.Errorf("%w: cached prior %s (dimension %d, normalisation %+v) does not match the problem (%d, %+v); delete it to refit",
					ErrConfig, pc.File, p.Dim(), priorNorm(p), nx*ny, norm)
			}
			out := exactPrior(p, pc.Data, pc.File)
			out.TrainSeeds = seeds
			return out, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	x := mat.DenseCopyOf(ds.Fields)
	norm.NormalisedDense(x)
	var p diffusion.Prior
	switch pc.Fit {
	case "spectral", "spectral-field":
		p, err = diffusion.FitSpectralGaussian(nx, ny, x, diffusion.SpectralFitSettings{FieldMean: pc.Fit == "spectral-field"})
	case "gaussian":
		p, err = diffusion.FitGaussian(x, -1)
	case "gmm":
		var g *diffusion.GMM
		g, _, err = diffusion.FitGMM(ctx, x, pc.Components, diffusion.GMMFitSettings{Diagonal: pc.Diagonal, Seed: rng.Sub(c.Seed, "prior-fit"), Workers: c.Workers})
		p = g
	case "empirical":
		p, err = diffusion.NewEmpirical(x, diffusion.EmpiricalSettings{})
	default:
		return nil, fmt.Errorf("%w: prior.fit %q (want spectral, spectral-field, gaussian, gmm or empirical)", ErrConfig, pc.Fit)
	}
	if err != nil {
		return nil, fmt.Errorf("prior: fitting %s: %w", pc.Fit, err)
	}
	setPriorNorm(p, norm)
	if pc.File != "" {
		if err := diffusion.SavePrior(pc.File, p); err != nil {
			return nil, err
		}
	}
	out := exactPrior(p, pc.Data)
	out.TrainSeeds = seeds
	return out, nil
}

// LoadUNet loads an EDM U-Net prior (weights .npz, description .json) for fields of
// dimension dim, as prior.kind unet does; models are cached per process.
func LoadUNet(weights, config string, dim, workers int) (*Prior, error) {
	c := Defaults()
	c.Prior = PriorConfig{Kind: "unet", Weights: weights, Config: config}
	c.Workers = workers
	return unetPrior(c, dim)
}

// unetPrior loads an EDM U-Net; its description's normalisation (x_model = (x − mean)/std)
// is the prior's normalisation, so the solver runs in the network's space.
func unetPrior(c Config, d int) (*Prior, error) {
	pc := c.Prior
	if pc.Weights == "" || pc.Config == "" {
		return nil, fmt.Errorf("%w: prior.kind unet needs prior.weights and prior.config", ErrConfig)
	}
	key := "unet:" + pc.Weights + "\x00" + pc.Config
	var m *unet.Model
	if v, ok := loaded.Load(key); ok {
		m = v.(*unet.Model)
	} else {
		var err error
		if m, err = unet.Load(pc.Weights, pc.Config, unet.Settings{Workers: c.Workers}); err != nil {
			return nil, err // the callers say "prior: "
		}
		loaded.Store(key, m)
	}
	if m.Dim() != d {
		return nil, fmt.Errorf("%w: U-Net %s takes %d values, the fields have %d", ErrConfig, pc.Weights, m.Dim(), d)
	}
	nz := m.Spec().Normalization
	norm := diffusion.Affine{Scale: nz.Std, Shift: nz.Mean}
	den := &normalised{d: m, a: norm}
	return &Prior{Denoiser: den, Sampler: &odeSampler{d: den}, Norm: norm, Inputs: []string{pc.Weights, pc.Config}}, nil
}

// normalised is a denoiser of physical fields seen in the normalised space x = (w − Shift)/Scale:
// D'(x; σ) = (D(Scale·x + Shift; |Scale|·σ) − Shift)/Scale. Its vector–Jacobian product is
// that of D at the mapped point (the scales cancel).
type normalised struct {
	d diffusion.Denoiser
	a diffusion.Affine
}

func (n *normalised) Dim() int { return n.d.Dim() }

func (n *normalised) scale() float64 {
	if n.a.Scale == 0 {
		return 1
	}
	return n.a.Scale
}

func (n *normalised) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	s := n.scale()
	if s == 1 && n.a.Shift == 0 {
		return n.d.Denoise(ctx, dst, x, sigma)
	}
	t := mat.DenseCopyOf(x)
	n.a.PhysicalDense(t)
	if err := n.d.Denoise(ctx, dst, t, math.Abs(s)*sigma); err != nil {
		return err
	}
	n.a.NormalisedDense(dst)
	return nil
}

// DenoiseVJP is available when the underlying denoiser has it (guidance.VJPDenoiser).
func (n *normalised) DenoiseVJP(ctx context.Context, dst, x, v *mat.Dense, sigma float64) error {
	vd, ok := n.d.(guidance.VJPDenoiser)
	if !ok {
		return fmt.Errorf("problem: %T has no vector–Jacobian product", n.d)
	}
	t := mat.DenseCopyOf(x)
	n.a.PhysicalDense(t)
	return vd.DenoiseVJP(ctx, dst, t, v, math.Abs(n.scale())*sigma)
}

// odeSampler draws samples of a denoiser's prior with the EDM Heun sampler (18 steps).
type odeSampler struct{ d diffusion.Denoiser }

func (s *odeSampler) Dim() int { return s.d.Dim() }

func (s *odeSampler) Sample(ctx context.Context, dst *mat.Dense, seed uint64) error {
	sm := diffusion.Sampler{Steps: 18, Solver: diffusion.Heun}
	return sm.Sample(ctx, dst, s.d, seed)
}
