package guidance

import (
	"context"
	"math"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// vjpGauss adds the denoiser's vector–Jacobian product to diffusion.DiagGaussian:
// D(x; σ) = μ + v/(v+σ²)·(x − μ) has the symmetric Jacobian diag(v/(v+σ²)).
type vjpGauss struct{ *diffusion.DiagGaussian }

func (g vjpGauss) DenoiseVJP(ctx context.Context, dst, x, v *mat.Dense, sigma float64) error {
	r, _ := x.Dims()
	s2 := sigma * sigma
	va := g.Variance()
	for i := 0; i < r; i++ {
		vr, dr := v.RawRowView(i), dst.RawRowView(i)
		for k := range vr {
			dr[k] = va[k] / (va[k] + s2) * vr[k]
		}
	}
	return nil
}

func newDiagGauss(d int, mean, variance float64) vjpGauss {
	g, err := diffusion.NewIsotropicGaussian(d, mean, variance)
	if err != nil {
		panic(err)
	}
	return vjpGauss{g}
}

// subsample is y = x[::2, ::2] on an n×n grid (a linear operator with adjoint).
func subsampleMatrix(n int) *operator.Matrix {
	m := n / 2
	a := mat.NewDense(m*m, n*n, nil)
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			a.Set(i*m+j, (2*i)*n+2*j, 1)
		}
	}
	op, err := operator.NewMatrix(a)
	if err != nil {
		panic(err)
	}
	return op
}

func matrixFactory(op *operator.Matrix) operator.Factory {
	return func() (operator.Operator, error) { return op, nil }
}

// relMaxDiff returns max|a − b| / max|b|.
func relMaxDiff(a, b []float64) float64 {
	var num, den float64
	for i := range b {
		num = math.Max(num, math.Abs(a[i]-b[i]))
		den = math.Max(den, math.Abs(b[i]))
	}
	return num / den
}
