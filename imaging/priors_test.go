package imaging

import (
	"math"
	"testing"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// For x ~ N(0, v·I) the exact denoiser is D(y) = v/(v+σ²)·y with mean squared error
// v·σ²/(v+σ²) per pixel, so its PSNR is 10·log10(R²(v+σ²)/(vσ²)) up to the spread of the
// per-image errors (≈ 0.4 dB over 256 pixels, averaged over 400 images).
func TestScoreDenoiserGaussianTheory(t *testing.T) {
	sh := Shape{1, 16, 16}
	const v, n = 0.09, 400
	prior, err := diffusion.NewIsotropicGaussian(sh.Dim(), 0, v)
	if err != nil {
		t.Fatal(err)
	}
	clean := mat.NewDense(n, sh.Dim(), nil)
	for i := 0; i < n; i++ {
		row := clean.RawRowView(i)
		rng.Normal(row, rng.Stream(99, i))
		for k := range row {
			row[k] *= math.Sqrt(v)
		}
	}
	sigmas := []float64{0.1, 0.3, 1}
	scores, err := ScoreDenoiser(ctx, prior, clean, sh, sigmas, DenoiseSettings{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scores {
		want := 10 * math.Log10(4*(v+s.Sigma*s.Sigma)/(v*s.Sigma*s.Sigma))
		noisy := 10 * math.Log10(4/(s.Sigma*s.Sigma))
		if math.Abs(s.PSNR-want) > 0.05 || math.Abs(s.NoisyPSNR-noisy) > 0.05 {
			t.Errorf("σ = %v: PSNR %.3f (theory %.3f), noisy %.3f (theory %.3f)", s.Sigma, s.PSNR, want, s.NoisyPSNR, noisy)
		}
		if s.N != n || s.SSIM <= 0 || s.SSIM > 1 || s.PSNRStd <= 0 {
			t.Errorf("σ = %v: implausible score %+v", s.Sigma, s)
		}
	}
}

func TestPadImages(t *testing.T) {
	src := mat.NewDense(2, 2*2*3, nil)
	for i := 0; i < 2; i++ {
		for k := 0; k < 12; k++ {
			src.Set(i, k, float64(100*i+k))
		}
	}
	dst, sh, err := PadImages(src, Shape{2, 2, 3}, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if sh != (Shape{2, 4, 5}) {
		t.Fatalf("padded shape %v", sh)
	}
	row := dst.RawRowView(1)
	// Channel 1, row 1 (padded), columns 1..3 hold source channel 1 row 0: 106, 107, 108.
	got := row[(1*4+1)*5 : (1*4+1)*5+5]
	want := []float64{-1, 106, 107, 108, -1}
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("padded row %v, want %v", got, want)
		}
	}
	if row[0] != -1 || row[len(row)-1] != -1 {
		t.Error("border not filled")
	}
}
