package guidance

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// diagGauss is a test-only exact prior N(mu, diag(v)) with denoiser
// D(x; σ) = mu + v/(v+σ²)·(x − mu) and its (diagonal, symmetric) Jacobian.
type diagGauss struct {
	mu, v []float64
}

func newDiagGauss(d int, mean, variance float64) *diagGauss {
	g := &diagGauss{mu: make([]float64, d), v: make([]float64, d)}
	for i := range g.mu {
		g.mu[i], g.v[i] = mean, variance
	}
	return g
}

func (g *diagGauss) Dim() int { return len(g.mu) }

func (g *diagGauss) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r, c := x.Dims()
	if c != len(g.mu) {
		return fmt.Errorf("diagGauss: %d columns, want %d", c, len(g.mu))
	}
	s2 := sigma * sigma
	for i := 0; i < r; i++ {
		xr, dr := x.RawRowView(i), dst.RawRowView(i)
		for k := range xr {
			dr[k] = g.mu[k] + g.v[k]/(g.v[k]+s2)*(xr[k]-g.mu[k])
		}
	}
	return nil
}

func (g *diagGauss) DenoiseVJP(ctx context.Context, dst, x, v *mat.Dense, sigma float64) error {
	r, _ := x.Dims()
	s2 := sigma * sigma
	for i := 0; i < r; i++ {
		vr, dr := v.RawRowView(i), dst.RawRowView(i)
		for k := range vr {
			dr[k] = g.v[k] / (g.v[k] + s2) * vr[k]
		}
	}
	return nil
}

func (g *diagGauss) Sample(dst []float64, r *rand.Rand) error {
	for k := range dst {
		dst[k] = g.mu[k] + math.Sqrt(g.v[k])*r.NormFloat64()
	}
	return nil
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
