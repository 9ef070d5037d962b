package report

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/diffusion/unet"
	"github.com/enkg-go/enkg/spectral"
)

// grfData returns n fields of the 16² Gaussian random field (α 2.5, τ 7, scaled by 10) and
// its exact prior.
func grfData(t *testing.T, n int, seed uint64) (*mat.Dense, *diffusion.SpectralGaussian) {
	t.Helper()
	g, err := spectral.NewGRF(16, 16, spectral.GRFSettings{Alpha: 2.5, Tau: 7})
	if err != nil {
		t.Fatal(err)
	}
	p, err := diffusion.NewSpectralGaussianFromGRF(g)
	if err != nil {
		t.Fatal(err)
	}
	x := mat.NewDense(n, 256, nil)
	if err := p.Sample(context.Background(), x, seed); err != nil {
		t.Fatal(err)
	}
	return x, p
}

// TestReportWienerIsTheBaseline: with the fitted Wiener filter itself as the "network" the
// ratio is exactly 1 at every σ; with the exact prior of Gaussian data it is ≈ 1, the
// samples' spectrum and kurtosis (3) match the data's, and every file is written.
func TestReportWienerIsTheBaseline(t *testing.T) {
	ctx := context.Background()
	train, exact := grfData(t, 400, 1)
	held, _ := grfData(t, 64, 2)
	wiener, err := diffusion.FitSpectralGaussian(16, 16, train, diffusion.SpectralFitSettings{})
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{Nx: 16, Ny: 16, Samples: 200, Seed: 3, Vorticity: true}
	r, err := Run(ctx, wiener, train, held, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range r.Denoise {
		if d.Ratio != 1 || d.RatioSE != 0 {
			t.Errorf("σ/std %g: Wiener against itself: ratio %v ± %v", d.Factor, d.Ratio, d.RatioSE)
		}
	}
	if r.MaxRatio != 1 || r.Pass {
		t.Errorf("max ratio %v, pass %v", r.MaxRatio, r.Pass)
	}
	r, err = Run(ctx, exact, train, held, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range r.Denoise {
		// the Wiener filter fitted to 400 fields is nearly the exact posterior mean
		if math.Abs(d.Ratio-1) > 0.03 || !(d.Network > 0) || d.Sigma != d.Factor*r.TrainStd {
			t.Errorf("σ/std %g: exact prior against the fitted Wiener filter: ratio %.4f", d.Factor, d.Ratio)
		}
		if d.Factor >= 1 && !(d.WienerRel < 1) {
			t.Errorf("σ/std %g: Wiener MSE %g·std², not below the prior variance", d.Factor, d.WienerRel)
		}
	}
	if k := r.SampleMoments.Kurtosis; math.Abs(k-3) > 0.2 || math.Abs(r.DataMoments.Kurtosis-3) > 0.2 {
		t.Errorf("Gaussian fields: kurtosis data %.3f, samples %.3f", r.DataMoments.Kurtosis, k)
	}
	if r.Spectrum.LogRatio > 0.05 {
		t.Errorf("spectrum of samples off by %.3g decades on average", r.Spectrum.LogRatio)
	}
	t.Logf("kurtosis %.3f / %.3f, spectrum log ratio %.3f, std %.3f / %.3f", r.DataMoments.Kurtosis, r.SampleMoments.Kurtosis,
		r.Spectrum.LogRatio, r.DataMoments.Std, r.SampleMoments.Std)
	// Parseval: the shell spectrum sums to ½·mean(f²).
	var sum float64
	for _, e := range r.Spectrum.Data {
		sum += e
	}
	var ms float64
	for _, v := range held.RawMatrix().Data {
		ms += v * v
	}
	if ms /= float64(len(held.RawMatrix().Data)); math.Abs(sum-ms/2) > 1e-9*ms {
		t.Errorf("Σ spectrum %g, ½·mean(f²) %g", sum, ms/2)
	}

	dir := filepath.Join(t.TempDir(), "rep")
	if err := r.Write(dir, "GRF"); err != nil {
		t.Fatal(err)
	}
	for _, f := range Files {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "denoise.csv"))
	if n := strings.Count(string(csv), "\n"); n != len(DefaultSigmaFactors)+1 {
		t.Errorf("denoise.csv has %d lines", n)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "Worst ratio over σ ∈ [0.5, 4]·std") || !strings.Contains(string(md), "| 0.5 |") {
		t.Errorf("report.md:\n%s", md)
	}
	var js map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
}

// TestReportUNet runs the report on the 16² reference U-Net (random weights) with a few
// fields and samples: every number finite, and errors for a wrong grid and bad data.
func TestReportUNet(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join("..", "unet", "testdata")
	m, err := unet.Load(filepath.Join(dir, "BCD_weights.npz"), filepath.Join(dir, "C_config.json"), unet.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	train, _ := grfData(t, 16, 1)
	held, _ := grfData(t, 4, 2)
	s := Settings{Nx: 16, Ny: 16, Samples: 3, SigmaFactors: []float64{0.5, 1, 4}, Sampler: &diffusion.Sampler{Steps: 4, Solver: diffusion.Heun}, Seed: 1}
	r, err := Run(ctx, m, train, held, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Denoise) != 3 || math.IsNaN(r.MaxRatio) || math.IsNaN(r.SampleMoments.Kurtosis) {
		t.Errorf("result %+v", r)
	}
	if err := r.Write(t.TempDir(), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, m, train, held, Settings{Nx: 8, Ny: 8}); err == nil || !strings.Contains(err.Error(), "takes 256 values, the grid 8×8 has 64") {
		t.Errorf("wrong grid: %v", err)
	}
	held.Set(1, 5, math.NaN())
	if _, err := Run(ctx, m, train, held, s); err == nil || !strings.Contains(err.Error(), "held-out field 1 holds NaN at index 5") {
		t.Errorf("NaN data: %v", err)
	}
}
