package imaging

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// PadImages returns the rows of src (n images of h×w pixels, one per row, single channel or
// channel-major) padded by p pixels on every side with the constant value (for Fashion-MNIST
// scaled to [−1, 1], value −1 is the black background, so 28×28 → 32×32 with p = 2).
func PadImages(src *mat.Dense, shape Shape, p int, value float64) (*mat.Dense, Shape, error) {
	if err := shape.check(); err != nil {
		return nil, Shape{}, err
	}
	n, d := src.Dims()
	if d != shape.Dim() {
		return nil, Shape{}, fmt.Errorf("imaging: PadImages: rows of length %d for %v images: %w", d, shape, operator.ErrDim)
	}
	if p < 0 {
		return nil, Shape{}, fmt.Errorf("imaging: PadImages: negative padding %d: %w", p, ErrShape)
	}
	out := Shape{shape.C, shape.H + 2*p, shape.W + 2*p}
	dst := mat.NewDense(n, out.Dim(), nil)
	for i := 0; i < n; i++ {
		s, t := src.RawRowView(i), dst.RawRowView(i)
		for k := range t {
			t[k] = value
		}
		for c := 0; c < shape.C; c++ {
			for r := 0; r < shape.H; r++ {
				copy(t[(c*out.H+r+p)*out.W+p:], s[(c*shape.H+r)*shape.W:(c*shape.H+r+1)*shape.W])
			}
		}
	}
	return dst, out, nil
}

// DenoiseScore summarises how well a denoiser recovers clean images x from x + σ·ε.
type DenoiseScore struct {
	Sigma float64
	N     int // images
	// NoisyPSNR is the mean PSNR of the noisy input (the do-nothing baseline).
	NoisyPSNR float64
	// PSNR and SSIM of D(x + σε; σ) against x: mean and standard deviation over images.
	PSNR, PSNRStd float64
	SSIM, SSIMStd float64
}

// DenoiseSettings configure ScoreDenoiser.
type DenoiseSettings struct {
	// DataRange of PSNR and SSIM; default 2 (images in [−1, 1]).
	DataRange float64
	// Clip clamps the denoised images to [−DataRange/2, DataRange/2] before scoring, as image
	// pipelines do when they save results.
	Clip bool
	// Seed of the noise: image i uses ε from rng.Stream(Seed, i), the same ε at every σ.
	Seed uint64
}

// ScoreDenoiser adds σ·ε to every clean image (rows of clean, of the given shape), denoises
// the batch with d at that σ and scores the results with PSNR and SSIM, for each σ.
func ScoreDenoiser(ctx context.Context, d diffusion.Denoiser, clean *mat.Dense, shape Shape, sigmas []float64, s DenoiseSettings) ([]DenoiseScore, error) {
	n, dim := clean.Dims()
	if dim != shape.Dim() || dim != d.Dim() {
		return nil, fmt.Errorf("imaging: ScoreDenoiser: images of length %d, shape %v, denoiser dimension %d: %w",
			dim, shape, d.Dim(), operator.ErrDim)
	}
	r := s.DataRange
	if r == 0 {
		r = 2
	}
	eps := mat.NewDense(n, dim, nil)
	for i := 0; i < n; i++ {
		rng.Normal(eps.RawRowView(i), rng.Stream(s.Seed, i))
	}
	noisy := mat.NewDense(n, dim, nil)
	out := mat.NewDense(n, dim, nil)
	var scores []DenoiseScore
	for _, sigma := range sigmas {
		if !(sigma > 0) || math.IsInf(sigma, 0) {
			return nil, fmt.Errorf("imaging: ScoreDenoiser: noise level %v must be positive and finite", sigma)
		}
		noisy.Scale(sigma, eps)
		noisy.Add(noisy, clean)
		sc := DenoiseScore{Sigma: sigma, N: n}
		for i := 0; i < n; i++ {
			p, err := PSNR(noisy.RawRowView(i), clean.RawRowView(i), r)
			if err != nil {
				return nil, err
			}
			sc.NoisyPSNR += p / float64(n)
		}
		if err := d.Denoise(ctx, out, noisy, sigma); err != nil {
			return nil, fmt.Errorf("imaging: ScoreDenoiser at σ = %v: %w", sigma, err)
		}
		ps, ss := make([]float64, n), make([]float64, n)
		for i := 0; i < n; i++ {
			row := out.RawRowView(i)
			if s.Clip {
				for k, v := range row {
					row[k] = math.Max(-r/2, math.Min(r/2, v))
				}
			}
			var err error
			if ps[i], err = PSNR(row, clean.RawRowView(i), r); err != nil {
				return nil, err
			}
			if ss[i], err = SSIM(row, clean.RawRowView(i), shape, r); err != nil {
				return nil, err
			}
		}
		sc.PSNR, sc.PSNRStd = meanStd(ps)
		sc.SSIM, sc.SSIMStd = meanStd(ss)
		scores = append(scores, sc)
	}
	return scores, nil
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	if len(v) > 1 {
		std = math.Sqrt(std / float64(len(v)-1))
	}
	return mean, std
}
