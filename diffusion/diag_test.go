package diffusion

import (
	"context"
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestDiagGaussianTweedie(t *testing.T) {
	mu, v := []float64{0.5, -1}, []float64{0.7, 2.5}
	g, err := NewDiagGaussian(mu, v)
	if err != nil {
		t.Fatal(err)
	}
	logp := func(z []float64) float64 {
		s := 0.0
		for k := range z {
			s += (z[k] - mu[k]) * (z[k] - mu[k]) / v[k]
		}
		return -s / 2
	}
	for _, sigma := range []float64{0.3, 1, 4} {
		x := []float64{1.7, 0.4}
		want := tweedieGrid(logp, x, sigma, -12, 12, 400)
		closeVec(t, "2-D Tweedie", denoiseOne(t, g, x, sigma), want, 1e-6)
	}
	checkLimits(t, g, []float64{3, -4}, mu, 1e-9)
}

func TestDiagGaussianSampleMoments(t *testing.T) {
	g, _ := NewDiagGaussian([]float64{1, -2}, []float64{0.5, 3})
	const n = 20000
	x := mat.NewDense(n, 2, nil)
	if err := g.Sample(context.Background(), x, 7); err != nil {
		t.Fatal(err)
	}
	for j, m := range g.Mean() {
		col := mat.Col(nil, j, x)
		mean, v := meanVar(col)
		if se := math.Sqrt(g.Variance()[j] / n); math.Abs(mean-m) > 4*se {
			t.Errorf("mean[%d] %v, want %v ± %v", j, mean, m, se)
		}
		if se := g.Variance()[j] * math.Sqrt(2.0/n); math.Abs(v-g.Variance()[j]) > 4*se {
			t.Errorf("var[%d] %v, want %v ± %v", j, v, g.Variance()[j], se)
		}
	}
}

func meanVar(x []float64) (float64, float64) {
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return m, s / float64(len(x)-1)
}

func TestDiagGaussianBadInput(t *testing.T) {
	if _, err := NewDiagGaussian([]float64{0, 0}, []float64{1, -1}); !errors.Is(err, ErrParam) {
		t.Errorf("negative variance: %v", err)
	}
	if _, err := NewDiagGaussian([]float64{0, 0}, []float64{1}); !errors.Is(err, ErrDim) {
		t.Errorf("mismatch: %v", err)
	}
	if _, err := NewDiagGaussian([]float64{math.NaN()}, []float64{1}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN mean: %v", err)
	}
	if _, err := NewDiagGaussian(nil, nil); !errors.Is(err, ErrDim) {
		t.Errorf("empty: %v", err)
	}
	g, _ := NewIsotropicGaussian(2, 0, 1)
	x := mat.NewDense(1, 2, nil)
	if err := g.Denoise(context.Background(), x, x, -0.1); !errors.Is(err, ErrParam) {
		t.Errorf("σ<0: %v", err)
	}
	if err := g.Denoise(context.Background(), x, x, math.NaN()); !errors.Is(err, ErrParam) {
		t.Errorf("σ NaN: %v", err)
	}
	if err := g.Denoise(context.Background(), mat.NewDense(1, 3, nil), mat.NewDense(1, 3, nil), 1); !errors.Is(err, ErrDim) {
		t.Errorf("dim: %v", err)
	}
	x.Set(0, 1, math.Inf(1))
	if err := g.Denoise(context.Background(), x, x, 1); !errors.Is(err, ErrNonFinite) {
		t.Errorf("Inf input: %v", err)
	}
}
