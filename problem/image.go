package problem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/imaging"
	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/rng"
)

// LoadImages returns images [first, first+count) of split (count ≤ 0: to the end) scaled to
// [−1, 1] and padded as ci says.
func LoadImages(ci Image, split string, first, count int) (*mat.Dense, imaging.Shape, error) {
	imgs, _, err := datasets.LoadMNIST(ci.Data, split)
	if err != nil {
		return nil, imaging.Shape{}, err
	}
	if count <= 0 {
		count = imgs.Shape[0] - first
	}
	if first < 0 || first+count > imgs.Shape[0] {
		return nil, imaging.Shape{}, fmt.Errorf("images [%d, %d) of %s: the split has %d", first, first+count, split, imgs.Shape[0])
	}
	v, err := imgs.Items(first, count, -1, 1)
	if err != nil {
		return nil, imaging.Shape{}, err
	}
	sh := imaging.Shape{C: 1, H: imgs.Shape[1], W: imgs.Shape[2]}
	x := mat.NewDense(count, sh.Dim(), v)
	if ci.Pad == 0 {
		return x, sh, nil
	}
	return imaging.PadImages(x, sh, ci.Pad, -1)
}

// imagePriors caches the priors loaded from image.prior_file in this process.
var imagePriors sync.Map

// imagePrior loads the cached prior or fits it to the training images: gaussian (full
// covariance, shrinkage image.shrinkage) or gmm; file and unet as for every kind.
func imagePrior(ctx context.Context, c Config, sh imaging.Shape) (*Prior, error) {
	ci, pc := c.Image, c.Prior
	switch pc.Kind {
	case "file", "unet", "fit":
		if sh.C != 1 {
			return nil, fmt.Errorf("%w: prior %s needs single-channel images", ErrConfig, pc.Kind)
		}
		return buildPrior(ctx, c, sh.H, sh.W)
	}
	if ci.PriorFile != "" {
		if p, ok := imagePriors.Load(ci.PriorFile); ok {
			if p := p.(diffusion.Prior); p.Dim() == sh.Dim() {
				return exactPrior(p, ci.PriorFile), nil
			}
		}
		p, err := diffusion.LoadPrior(ci.PriorFile)
		switch {
		case err == nil:
			if p.Dim() != sh.Dim() {
				return nil, fmt.Errorf("%s has dimension %d, images %d (pad %d)", ci.PriorFile, p.Dim(), sh.Dim(), ci.Pad)
			}
			imagePriors.Store(ci.PriorFile, p)
			return exactPrior(p, ci.PriorFile), nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	train, _, err := LoadImages(ci, "train", 0, ci.Train)
	if err != nil {
		return nil, err
	}
	var p diffusion.Prior
	switch pc.Kind {
	case "gaussian":
		if p, err = diffusion.FitGaussian(train, ci.Shrinkage); err != nil {
			return nil, err
		}
	case "gmm":
		gm, _, err := diffusion.FitGMM(ctx, train, pc.Components, diffusion.GMMFitSettings{Diagonal: pc.Diagonal,
			Seed: rng.Sub(c.Seed, "prior-data"), Workers: c.Workers})
		if err != nil {
			return nil, err
		}
		p = gm
	default:
		return nil, fmt.Errorf("%w: prior.kind %q for image (want gaussian: full covariance fitted, gmm, file, fit or unet)", ErrConfig, pc.Kind)
	}
	if ci.PriorFile != "" {
		if err := diffusion.SavePrior(ci.PriorFile, p); err != nil {
			return nil, err
		}
	}
	return exactPrior(p), nil
}

// buildImage builds problem.kind image: y = A(x) + noise·ε for a Fashion-MNIST test image x
// in [−1, 1] (the physical units of this kind), A from image.task, a prior fitted to the
// training images. The misfit is the published ‖y − A(x)‖² (σ = 1) whatever the noise;
// PSNR and SSIM are scikit-image's on the estimate clipped to [−1, 1], data range 2.
func buildImage(ctx context.Context, c Config) (*Problem, error) {
	ci := c.Image
	if ci.Pad < 0 {
		return nil, fmt.Errorf("%w: image.pad %d must be ≥ 0", ErrConfig, ci.Pad)
	}
	img, sh, err := LoadImages(ci, ci.Split, ci.Index, 1)
	if err != nil {
		return nil, fmt.Errorf("truth: %w", err)
	}
	if sh.H != sh.W {
		return nil, fmt.Errorf("truth: image %d×%d is not square", sh.H, sh.W)
	}
	task := ci.Task
	if task.C == 0 && task.H == 0 && task.W == 0 {
		task.C, task.H, task.W = sh.C, sh.H, sh.W
	}
	if task.Shape() != sh {
		return nil, fmt.Errorf("image.task: shape %v, images %v", task.Shape(), sh)
	}
	native, err := task.Factory()
	if err != nil {
		return nil, fmt.Errorf("image.task: %w", err)
	}
	pr, err := imagePrior(ctx, c, sh)
	if err != nil {
		return nil, fmt.Errorf("prior: %w", err)
	}
	p := &Problem{Shape: []int{sh.H, sh.W}, Prior: pr, Metrics: map[string]guidance.Metric{}}
	switch src := c.truthSource("dataset"); src {
	case "dataset":
		p.Truth = img.RawRowView(0)
	default:
		if p.Truth, err = gridTruth(ctx, c, pr, sh.H, src, nil); err != nil {
			return nil, err
		}
	}
	op, err := native()
	if err != nil {
		return nil, fmt.Errorf("image.task: %w", err)
	}
	no := int(math.Round(math.Sqrt(float64(op.OutputDim()))))
	if no*no != op.OutputDim() {
		return nil, fmt.Errorf("observation: %d values are not a square image", op.OutputDim())
	}
	p.ObsShape = []int{no, no}
	seed, index := c.Truth.Seed, c.Truth.Index
	if c.truthSource("dataset") == "dataset" {
		index = ci.Index
	}
	if p.Truth != nil || c.Observation.File != "" {
		if err := p.observe(ctx, c, native, diffusion.Affine{}, seed, index); err != nil {
			return nil, err
		}
	}
	mf := operator.Misfit(operator.Gaussian{Sigma: 1})
	if c.Problem.MisfitSigma > 0 {
		mf = operator.Gaussian{Sigma: c.Problem.MisfitSigma}
	}
	p.Guidance = &guidance.Problem{Observation: p.Observation, Forward: normalisedFactory(native, compose(pr.Norm, diffusion.Affine{})),
		Misfit: mf, Prior: pr.Denoiser, Sampler: pr.Sampler}
	if p.Observation != nil {
		p.PosteriorMean = LinearPosteriorMean(ctx, pr, native, p.Observation, c.Problem.Noise)
	}
	p.Metrics["psnr"] = func(est, truth []float64) (float64, error) { return imaging.PSNR(Clip(est), truth, 2) }
	p.Metrics["ssim"] = func(est, truth []float64) (float64, error) { return imaging.SSIM(Clip(est), truth, sh, 2) }
	return p, nil
}

// Clip returns x clipped to [−1, 1].
func Clip(x []float64) []float64 {
	c := make([]float64, len(x))
	for i, v := range x {
		c[i] = math.Max(-1, math.Min(1, v))
	}
	return c
}
