package imaging

import (
	"fmt"
	"math"

	"github.com/enkg-go/enkg/operator"
)

// SSIM window: Gaussian σ = 1.5 truncated at 3.5σ (radius 5, an 11×11 window), as
// skimage.metrics.structural_similarity with gaussian_weights=True.
const (
	ssimSigma  = 1.5
	ssimRadius = 5 // int(3.5·1.5 + 0.5)
	ssimK1     = 0.01
	ssimK2     = 0.03
)

func checkPair(what string, x, ref []float64, dataRange float64) error {
	if len(x) != len(ref) || len(x) == 0 {
		return fmt.Errorf("imaging: %s of images of lengths %d and %d: %w", what, len(x), len(ref), operator.ErrDim)
	}
	if !(dataRange > 0) || math.IsInf(dataRange, 0) {
		return fmt.Errorf("imaging: %s data range %v must be positive and finite", what, dataRange)
	}
	if err := operator.CheckFinite("imaging: "+what+" image", x); err != nil {
		return err
	}
	return operator.CheckFinite("imaging: "+what+" reference", ref)
}

// PSNR returns the peak signal-to-noise ratio 10·log10(R²/MSE) of x against the reference
// ref, with R = dataRange (2 for images in [−1, 1]); +Inf when they are equal. It equals
// skimage.metrics.peak_signal_noise_ratio(ref, x, data_range=R).
func PSNR(x, ref []float64, dataRange float64) (float64, error) {
	if err := checkPair("PSNR", x, ref, dataRange); err != nil {
		return 0, err
	}
	var s float64
	for i, v := range x {
		d := v - ref[i]
		s += d * d
	}
	mse := s / float64(len(x))
	return 10 * math.Log10(dataRange*dataRange/mse), nil
}

// SSIM returns the mean structural similarity of x and ref, images of the given shape,
// averaged over channels: skimage.metrics.structural_similarity(ref, x, channel_axis=0,
// data_range=R, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, K1=0.01,
// K2=0.03) on (C, H, W) arrays. H and W must be at least 11.
func SSIM(x, ref []float64, shape Shape, dataRange float64) (float64, error) {
	if err := shape.check(); err != nil {
		return 0, err
	}
	if len(x) != shape.Dim() {
		return 0, fmt.Errorf("imaging: SSIM image has length %d, want %v = %d: %w", len(x), shape, shape.Dim(), operator.ErrDim)
	}
	if err := checkPair("SSIM", x, ref, dataRange); err != nil {
		return 0, err
	}
	win := 2*ssimRadius + 1
	if shape.H < win || shape.W < win {
		return 0, fmt.Errorf("imaging: SSIM needs images of at least %d×%d pixels, got %d×%d: %w", win, win, shape.H, shape.W, ErrShape)
	}
	h, w := shape.H, shape.W
	n := h * w
	g := make([]float64, win)
	var gs float64
	for j := -ssimRadius; j <= ssimRadius; j++ {
		g[j+ssimRadius] = math.Exp(-0.5 / (ssimSigma * ssimSigma) * float64(j*j))
		gs += g[j+ssimRadius]
	}
	for j := range g {
		g[j] /= gs
	}
	buf := make([]float64, 7*n)
	prod, tmp := buf[:n], buf[n:2*n]
	ux, uy, uxx, uyy, uxy := buf[2*n:3*n], buf[3*n:4*n], buf[4*n:5*n], buf[5*n:6*n], buf[6*n:7*n]
	c1 := (ssimK1 * dataRange) * (ssimK1 * dataRange)
	c2 := (ssimK2 * dataRange) * (ssimK2 * dataRange)
	var total float64
	for c := 0; c < shape.C; c++ {
		xc, yc := ref[c*n:(c+1)*n], x[c*n:(c+1)*n] // skimage's im1 = reference, im2 = test
		gaussFilter(ux, xc, tmp, g, h, w)
		gaussFilter(uy, yc, tmp, g, h, w)
		for i := range prod {
			prod[i] = xc[i] * xc[i]
		}
		gaussFilter(uxx, prod, tmp, g, h, w)
		for i := range prod {
			prod[i] = yc[i] * yc[i]
		}
		gaussFilter(uyy, prod, tmp, g, h, w)
		for i := range prod {
			prod[i] = xc[i] * yc[i]
		}
		gaussFilter(uxy, prod, tmp, g, h, w)
		var s float64
		for i := ssimRadius; i < h-ssimRadius; i++ {
			for j := ssimRadius; j < w-ssimRadius; j++ {
				k := i*w + j
				mx, my := ux[k], uy[k]
				vx := uxx[k] - mx*mx
				vy := uyy[k] - my*my
				vxy := uxy[k] - mx*my
				a1, a2 := 2*mx*my+c1, 2*vxy+c2
				b1, b2 := mx*mx+my*my+c1, vx+vy+c2
				s += a1 * a2 / (b1 * b2)
			}
		}
		total += s / float64((h-2*ssimRadius)*(w-2*ssimRadius))
	}
	return total / float64(shape.C), nil
}

// gaussFilter writes the separable correlation of the h×w image src with the normalised
// weights g (odd length) into dst, axis 0 first, with scipy.ndimage's reflect boundary.
func gaussFilter(dst, src, tmp, g []float64, h, w int) {
	r := len(g) / 2
	for i := 0; i < h; i++ {
		tr := tmp[i*w : (i+1)*w]
		for j := range tr {
			tr[j] = 0
		}
		for a, ga := range g {
			sr := src[scipyReflect(i+a-r, h)*w:]
			for j := range tr {
				tr[j] += ga * sr[j]
			}
		}
	}
	for i := 0; i < h; i++ {
		tr := tmp[i*w : (i+1)*w]
		dr := dst[i*w : (i+1)*w]
		for j := range dr {
			var s float64
			for b, gb := range g {
				q := j + b - r
				if q < 0 || q >= w {
					q = scipyReflect(q, w)
				}
				s += gb * tr[q]
			}
			dr[j] = s
		}
	}
}
