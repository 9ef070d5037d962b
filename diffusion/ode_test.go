package diffusion

import (
	"context"
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// refODE is a direct scalar transcription of enkg-pytorch's ode_sampler for the diagonal
// Gaussian denoiser (float64 schedule).
func refODE(x, mu, v, sigma float64, k int) float64 {
	if k == 1 {
		return mu + v/(v+sigma*sigma)*(x-mu)
	}
	rho, eps := 7.0, 0.002
	ts := make([]float64, k+1)
	for i := 0; i < k; i++ {
		ts[i] = math.Pow(math.Pow(sigma, 1/rho)+float64(i)/float64(k-1)*(math.Pow(eps, 1/rho)-math.Pow(sigma, 1/rho)), rho)
	}
	for i := 0; i < k; i++ {
		den := mu + v/(v+ts[i]*ts[i])*(x-mu)
		d := (x - den) / ts[i]
		x = x + (ts[i+1]-ts[i])*d
	}
	return x
}

func TestDenoiseODEMatchesReferenceLoop(t *testing.T) {
	ctx := context.Background()
	mu, v := []float64{0.3, -1, 2}, []float64{0.8, 2, 0.1}
	g, err := NewDiagGaussian(mu, v)
	if err != nil {
		t.Fatal(err)
	}
	x := mat.NewDense(4, 3, []float64{1, 2, 3, -4, 5, -6, 7, 8, 9, 0.1, 0.2, -0.3})
	for _, sigma := range []float64{43.92, 3.17, 0.0184} {
		for _, k := range []int{1, 2, 3, 5, 20} {
			dst := mat.NewDense(4, 3, nil)
			if err := DenoiseODE(ctx, dst, x, g, sigma, k, 0.002, 7); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 4; i++ {
				for j := 0; j < 3; j++ {
					want := refODE(x.At(i, j), mu[j], v[j], sigma, k)
					if got := dst.At(i, j); math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
						t.Fatalf("σ=%v k=%d (%d,%d): %v, reference %v", sigma, k, i, j, got, want)
					}
				}
			}
			// dst may alias x.
			y := mat.DenseCopyOf(x)
			if err := DenoiseODE(ctx, y, y, g, sigma, k, 0.002, 7); err != nil {
				t.Fatal(err)
			}
			if !mat.Equal(y, dst) {
				t.Fatalf("σ=%v k=%d: aliased result differs", sigma, k)
			}
		}
	}
}

func TestDenoiseODEOneStepIsOneCall(t *testing.T) {
	g, _ := NewIsotropicGaussian(2, 0.5, 0.8)
	x := mat.NewDense(1, 2, []float64{3, -2})
	var o ODEToZero
	dst := mat.NewDense(1, 2, nil)
	if err := o.Denoise(context.Background(), dst, x, g, 7.3, 1); err != nil {
		t.Fatal(err)
	}
	want := mat.NewDense(1, 2, nil)
	_ = g.Denoise(context.Background(), want, x, 7.3)
	if !mat.Equal(dst, want) {
		t.Fatalf("k=1: %v, one denoiser call %v", dst.RawMatrix().Data, want.RawMatrix().Data)
	}
}

// The probability-flow ODE of a Gaussian N(μ, v) has the exact solution
// x(σ) − μ = (x(σ₀) − μ)·√((v+σ²)/(v+σ₀²)). Euler is first order: the error to the exact
// x(σ_min) (before the final jump to 0, which is exact for this denoiser... up to σ_min)
// falls like 1/k.
func TestDenoiseODEFirstOrder(t *testing.T) {
	const mu, v, sigma, x0 = 0.2, 0.8, 10.0, 7.0
	g, _ := NewIsotropicGaussian(1, mu, v)
	exact := func(k int) float64 {
		// exact flow to σ_min, then the final Euler jump to 0, which equals D(x; σ_min).
		xs := mu + (x0-mu)*math.Sqrt((v+0.002*0.002)/(v+sigma*sigma))
		return mu + v/(v+0.002*0.002)*(xs-mu)
	}
	var prev float64
	for i, k := range []int{8, 16, 32, 64, 128} {
		x := mat.NewDense(1, 1, []float64{x0})
		if err := DenoiseODE(context.Background(), x, x, g, sigma, k, 0.002, 7); err != nil {
			t.Fatal(err)
		}
		e := math.Abs(x.At(0, 0) - exact(k))
		if i > 0 {
			order := math.Log2(prev / e)
			if order < 0.85 || order > 1.2 {
				t.Errorf("k=%d: observed order %.3f, want ≈ 1", k, order)
			}
		}
		prev = e
	}
}

func TestODEToZeroFloat32Schedule(t *testing.T) {
	o := ODEToZero{Float32: true}
	s, err := o.Sigmas(43.920257568359375, 5)
	if err != nil {
		t.Fatal(err)
	}
	// float32 rounding of a + (c − a) leaves σ_{k−1} within a few float32 ulps (×ρ) of 0.002.
	if len(s) != 6 || s[5] != 0 || math.Abs(s[4]-0.002) > 1e-6*0.002 || s[0] != 43.920257568359375 {
		t.Fatalf("float32 sub-schedule %v", s)
	}
	for _, v := range s {
		if v != float64(float32(v)) {
			t.Fatalf("%v is not a float32 value", v)
		}
	}
	o64 := ODEToZero{}
	s64, _ := o64.Sigmas(43.920257568359375, 5)
	for i := range s64 {
		if math.Abs(s64[i]-s[i]) > 2e-6*s64[i] {
			t.Fatalf("float32 %v vs float64 %v", s, s64)
		}
	}
}

func TestDenoiseODEBadInput(t *testing.T) {
	g, _ := NewIsotropicGaussian(3, 0, 1)
	ctx := context.Background()
	x := mat.NewDense(2, 3, nil)
	if err := DenoiseODE(ctx, x, x, g, -1, 3, 0.002, 7); !errors.Is(err, ErrParam) {
		t.Errorf("σ<0: %v", err)
	}
	if err := DenoiseODE(ctx, x, x, g, 1, 0, 0.002, 7); !errors.Is(err, ErrParam) {
		t.Errorf("k=0: %v", err)
	}
	if err := DenoiseODE(ctx, mat.NewDense(2, 2, nil), mat.NewDense(2, 2, nil), g, 1, 3, 0.002, 7); !errors.Is(err, ErrDim) {
		t.Errorf("dim: %v", err)
	}
	x.Set(1, 2, math.NaN())
	if err := DenoiseODE(ctx, x, x, g, 1, 3, 0.002, 7); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := DenoiseODE(cctx, mat.NewDense(2, 3, nil), mat.NewDense(2, 3, nil), g, 1, 3, 0.002, 7); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
