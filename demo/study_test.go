package demo

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/pde"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

// TestStudyLimits measures, for the 64² demo problem, why ensemble Kalman methods with a
// Gaussian prior and a CPU budget of a few thousand forward solves cannot get far below the
// prior mean (ENKG_LONG=1; ~1 min on 2 cores):
//
//   - span: with a Gaussian prior, EnKG's particles stay in the affine span of their J
//     initial draws mapped by the (linear) probability-flow ODE, and EKI's in the span of its
//     J prior samples, so the best relative L2 error any of them can reach is that of the
//     orthogonal projection of x_true − μ onto the span of J − 1 centred prior samples;
//   - nonlinearity: the ratio ‖G(x+εd) + G(x−εd) − 2G(x)‖ / ‖G(x+εd) − G(x−εd)‖ (second-
//     over first-order change) along prior directions d, for steps ε of the prior's size.
func TestStudyLimits(t *testing.T) {
	if os.Getenv("ENKG_LONG") == "" {
		t.Skip("ENKG_LONG=1 runs the 64² limit study")
	}
	ctx := context.Background()
	s, _ := DefaultSettings().Resolve()
	s.Train = 60
	n := s.Res
	g, _ := spectral.NewGRF(n, n, spectral.GRFSettings{Alpha: 2.5, Tau: 7})
	ps := s.SolverSettings()
	ens, _ := pde.NewEnsemble(n, n, &ps, 0)
	w := make([]float64, s.Train*n*n)
	for i := 0; i < s.Train; i++ {
		g.Sample(w[i*n*n:(i+1)*n*n], rng.Stream(0, i))
	}
	if err := ens.Solve(ctx, w, w, s.Spinup); err != nil {
		t.Fatal(err)
	}
	prior, err := FitPrior(mat.NewDense(s.Train, n*n, w), s)
	if err != nil {
		t.Fatal(err)
	}
	truth, _ := Truth(ctx, s)
	d := n * n
	x := make([]float64, d)
	for i := range x {
		x[i] = truth[i] / s.Scale
	}
	mu := prior.Mean()
	r := make([]float64, d)
	var nx float64
	for i := range x {
		r[i] = x[i] - mu[i]
		nx += x[i] * x[i]
	}
	for _, J := range []int{32, 64, 128, 256, 512} {
		S := mat.NewDense(J, d, nil)
		if err := prior.Sample(ctx, S, 7); err != nil {
			t.Fatal(err)
		}
		// Centre the samples (the span of X − X̄), then least squares of r on it.
		for j := 0; j < d; j++ {
			var m float64
			for k := 0; k < J; k++ {
				m += S.At(k, j)
			}
			m /= float64(J)
			for k := 0; k < J; k++ {
				S.Set(k, j, S.At(k, j)-m)
			}
		}
		var qr mat.QR
		qr.Factorize(S.T())
		var q mat.Dense
		qr.QTo(&q)
		basis := q.Slice(0, d, 0, J-1)
		var c mat.VecDense
		c.MulVec(basis.T(), mat.NewVecDense(d, r))
		var p mat.VecDense
		p.MulVec(basis, &c)
		var res float64
		for i := 0; i < d; i++ {
			e := r[i] - p.AtVec(i)
			res += e * e
		}
		fmt.Printf("span of J = %3d prior samples: best rel. L2 %.4f\n", J, sqrtf(res/nx))
	}
	op, _ := pde.NewOperator(s.OperatorSettings())
	m := op.OutputDim()
	g0, gp, gm := make([]float64, m), make([]float64, m), make([]float64, m)
	if err := op.Forward(ctx, g0, x); err != nil {
		t.Fatal(err)
	}
	dir := mat.NewDense(3, d, nil)
	prior.Sample(ctx, dir, 11)
	for k := 0; k < 3; k++ {
		dk := dir.RawRowView(k)
		for i := range dk {
			dk[i] -= mu[i]
		}
		for _, eps := range []float64{0.01, 0.1, 0.3, 1} {
			xp, xm := make([]float64, d), make([]float64, d)
			for i := range x {
				xp[i], xm[i] = x[i]+eps*dk[i], x[i]-eps*dk[i]
			}
			if err := op.Forward(ctx, gp, xp); err != nil {
				t.Fatal(err)
			}
			if err := op.Forward(ctx, gm, xm); err != nil {
				t.Fatal(err)
			}
			var num, den float64
			for i := range g0 {
				a := gp[i] + gm[i] - 2*g0[i]
				b := gp[i] - gm[i]
				num += a * a
				den += b * b
			}
			fmt.Printf("direction %d, ε = %-4g: second/first-order change %.3f\n", k, eps, sqrtf(num/den))
		}
	}
}

func sqrtf(v float64) float64 { return math.Sqrt(v) }
