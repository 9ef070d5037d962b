package main

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

// solveImage is the `image:` section of `enkg solve` for problem.kind: image — the image
// tasks of the EnKG paper (box and random inpainting, super-resolution, Gaussian deblurring,
// phase retrieval) on Fashion-MNIST. The truth is test image `index` of `split`, scaled to
// [−1, 1] and padded by `pad` pixels of background −1 on every side; the prior is fitted to
// the first `train` training images (0: all 60 000) treated the same way.
type solveImage struct {
	// Task is the forward model (imaging.Task); its shape fields default to the image's.
	Task imaging.Task `yaml:"task"`
	// Data is the directory of the MNIST-layout IDX files (default datasets.FashionMNISTDir).
	Data string `yaml:"data"`
	// Split is the split the truth comes from (default t10k, the held-out test images).
	Split string `yaml:"split"`
	// Index is the image index in Split.
	Index int `yaml:"index"`
	// Pad pads every side by this many background pixels (2: 28×28 → 32×32).
	Pad int `yaml:"pad"`
	// Train is the number of training images the prior is fitted to (0: all).
	Train int `yaml:"train"`
	// Shrinkage of the full-covariance Gaussian fit (diffusion.FitGaussian; < 0: Ledoit–Wolf).
	Shrinkage float64 `yaml:"shrinkage"`
	// PriorFile caches the fitted prior (diffusion.SavePrior .npz): loaded when it exists,
	// written after fitting otherwise. Empty: fit every time.
	PriorFile string `yaml:"prior_file"`
}

func solveImageDefaults() solveImage {
	return solveImage{Data: datasets.FashionMNISTDir, Split: "t10k", Shrinkage: -1}
}

// solveImageLoad returns images [first, first+count) of split scaled to [−1, 1] and padded.
func solveImageLoad(ci solveImage, split string, first, count int) (*mat.Dense, imaging.Shape, error) {
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

// solveImagePriors caches the priors loaded from image.prior_file in this process (a study
// runs many solves on one prior; loading redoes the eigendecomposition).
var solveImagePriors sync.Map

// solveImagePrior loads the cached prior or fits it to the training images.
func solveImagePrior(ctx context.Context, cfg solveConfig, sh imaging.Shape) (diffusion.Prior, error) {
	ci, pc := cfg.Image, cfg.Prior
	if ci.PriorFile != "" {
		if p, ok := solveImagePriors.Load(ci.PriorFile); ok {
			if p := p.(diffusion.Prior); p.Dim() == sh.Dim() {
				return p, nil
			}
		}
		p, err := diffusion.LoadPrior(ci.PriorFile)
		switch {
		case err == nil:
			if p.Dim() != sh.Dim() {
				return nil, fmt.Errorf("%s has dimension %d, images %d (pad %d)", ci.PriorFile, p.Dim(), sh.Dim(), ci.Pad)
			}
			solveImagePriors.Store(ci.PriorFile, p)
			return p, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	train, _, err := solveImageLoad(ci, "train", 0, ci.Train)
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
			Seed: rng.Sub(cfg.Seed, "prior-data"), Workers: cfg.Workers})
		if err != nil {
			return nil, err
		}
		p = gm
	default:
		return nil, fmt.Errorf("kind %q for image (want gaussian: full covariance fitted, or gmm)", pc.Kind)
	}
	if ci.PriorFile != "" {
		if err := diffusion.SavePrior(ci.PriorFile, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// solveBuildImage builds problem.kind image: y = A(x) + noise·ε for a Fashion-MNIST test image
// x in [−1, 1], A from image.task, and a prior fitted to the training images. PSNR and SSIM are
// those of scikit-image on the estimate clipped to [−1, 1] with data range 2 (the same as on
// [0, 1] images with data range 1).
func solveBuildImage(ctx context.Context, cfg solveConfig) (*solveProblemSetup, error) {
	ci, pr := cfg.Image, cfg.Problem
	if !(pr.Noise >= 0) || math.IsInf(pr.Noise, 0) {
		return nil, fmt.Errorf("problem: noise %v must be finite and ≥ 0", pr.Noise)
	}
	if ci.Pad < 0 {
		return nil, fmt.Errorf("image: pad %d must be ≥ 0", ci.Pad)
	}
	truth, sh, err := solveImageLoad(ci, ci.Split, ci.Index, 1)
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
	factory, err := task.Factory()
	if err != nil {
		return nil, fmt.Errorf("image.task: %w", err)
	}
	prior, err := solveImagePrior(ctx, cfg, sh)
	if err != nil {
		return nil, fmt.Errorf("prior: %w", err)
	}
	st := &solveProblemSetup{n: sh.H, truth: truth.RawRowView(0), extra: map[string]guidance.Metric{}}
	op, err := factory()
	if err != nil {
		return nil, fmt.Errorf("image.task: %w", err)
	}
	st.obs = make([]float64, op.OutputDim())
	if err := op.Forward(ctx, st.obs, st.truth); err != nil {
		return nil, fmt.Errorf("observation: %w", err)
	}
	if no := int(math.Round(math.Sqrt(float64(len(st.obs))))); no*no == len(st.obs) {
		st.no = no
	} else {
		return nil, fmt.Errorf("observation: %d values are not a square image", len(st.obs))
	}
	r := rng.New(rng.Sub(cfg.Seed, "noise"))
	for i := range st.obs {
		st.obs[i] += pr.Noise * r.NormFloat64()
	}
	// The published image code's loss ‖y − A(x)‖² (misfit σ = 1), whatever the noise level: DPS,
	// GSG and DPG step sizes and DPG's sampling radius are defined on it (EnKG and SCG do not
	// depend on the misfit's σ).
	st.p = &guidance.Problem{Observation: st.obs, Forward: factory, Misfit: operator.Gaussian{Sigma: 1}, Prior: prior, Sampler: prior}
	if _, ok := prior.(*diffusion.Gaussian); ok {
		st.p.Prior = guidance.NewAffineVJP(prior) // exact J_D for DPS, GSG and DPG
	}
	st.extra["psnr"] = func(est, truth []float64) (float64, error) { return imaging.PSNR(solveClip(est), truth, 2) }
	st.extra["ssim"] = func(est, truth []float64) (float64, error) {
		return imaging.SSIM(solveClip(est), truth, sh, 2)
	}
	return st, nil
}

// solveClip returns x clipped to [−1, 1].
func solveClip(x []float64) []float64 {
	c := make([]float64, len(x))
	for i, v := range x {
		c[i] = math.Max(-1, math.Min(1, v))
	}
	return c
}

// solveImageMetrics scores each member of an ensemble (the paper's per-sample numbers): mean
// and standard deviation over members of PSNR and SSIM, clipped, data range 2.
func solveImageMetrics(ens *mat.Dense, truth []float64, sh imaging.Shape) (psnr, ssim [2]float64, err error) {
	j, _ := ens.Dims()
	var ps, ss []float64
	for i := 0; i < j; i++ {
		c := solveClip(ens.RawRowView(i))
		p, err := imaging.PSNR(c, truth, 2)
		if err != nil {
			return psnr, ssim, err
		}
		s, err := imaging.SSIM(c, truth, sh, 2)
		if err != nil {
			return psnr, ssim, err
		}
		ps, ss = append(ps, p), append(ss, s)
	}
	return meanStd(ps), meanStd(ss), nil
}

func meanStd(v []float64) [2]float64 {
	var m, s float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	if len(v) > 1 {
		s /= float64(len(v) - 1)
	}
	return [2]float64{m, math.Sqrt(s)}
}
