package operator

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestGaussianGradientMatchesFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g := Gaussian{Sigma: 0.7}
	p, y := make([]float64, 9), make([]float64, 9)
	for i := range p {
		p[i], y[i] = r.NormFloat64(), r.NormFloat64()
	}
	grad := make([]float64, 9)
	g.Gradient(grad, p, y)
	const h = 1e-6
	for i := range p {
		old := p[i]
		p[i] = old + h
		lp := g.Loss(p, y)
		p[i] = old - h
		lm := g.Loss(p, y)
		p[i] = old
		fd := (lp - lm) / (2 * h)
		if math.Abs(fd-grad[i]) > 1e-7*math.Max(1, math.Abs(fd)) {
			t.Errorf("grad[%d] = %v, finite difference %v", i, grad[i], fd)
		}
	}
	// Loss of the zero-value misfit is half the squared distance.
	if got := (Gaussian{}).Loss([]float64{3, 0}, []float64{0, 4}); got != 12.5 {
		t.Errorf("zero-value Loss = %v, want 12.5", got)
	}
}

func TestMatrixAdjointIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a := mat.NewDense(5, 7, nil)
	for i := 0; i < 5; i++ {
		for j := 0; j < 7; j++ {
			a.Set(i, j, r.NormFloat64())
		}
	}
	m, err := NewMatrix(a)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]float64, 7), make([]float64, 5)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	for i := range y {
		y[i] = r.NormFloat64()
	}
	ax, aty := make([]float64, 5), make([]float64, 7)
	if err := m.Forward(context.Background(), ax, x); err != nil {
		t.Fatal(err)
	}
	if err := m.Adjoint(aty, y); err != nil {
		t.Fatal(err)
	}
	var l, rr float64
	for i := range ax {
		l += ax[i] * y[i]
	}
	for i := range aty {
		rr += x[i] * aty[i]
	}
	if math.Abs(l-rr) > 1e-12*math.Abs(l) {
		t.Errorf("<Ax,y> = %v, <x,Aᵀy> = %v", l, rr)
	}
}

func TestMatrixBadInput(t *testing.T) {
	m, _ := NewMatrix(mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6}))
	if err := m.Forward(context.Background(), make([]float64, 2), make([]float64, 4)); !errors.Is(err, ErrDim) {
		t.Errorf("wrong input length: err = %v, want ErrDim", err)
	}
	if err := m.Forward(context.Background(), make([]float64, 2), []float64{1, math.NaN(), 0}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN input: err = %v, want ErrNonFinite", err)
	}
	if _, err := NewMatrix(mat.NewDense(1, 1, nil)); err != nil {
		t.Errorf("1×1 matrix refused: %v", err)
	}
}
