package guidance

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

func randDense(r *rand.Rand, rows, cols int) *mat.Dense {
	a := mat.NewDense(rows, cols, nil)
	d := a.RawMatrix().Data
	for i := range d {
		d[i] = r.NormFloat64()
	}
	return a
}

var kalmanSizes = []struct{ j, d, m int }{{256, 16384, 4096}, {1024, 4096, 1024}}

// BenchmarkKalmanUpdate measures the J×J ensemble update (two Dgemm calls) in GFLOP/s.
func BenchmarkKalmanUpdate(b *testing.B) {
	for _, sz := range kalmanSizes {
		b.Run(fmt.Sprintf("J=%d,D=%d,M=%d", sz.j, sz.d, sz.m), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			x, y, e := randDense(r, sz.j, sz.d), randDense(r, sz.j, sz.m), randDense(r, sz.j, sz.m)
			k, _ := NewKalman(sz.j, sz.d, sz.m)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k.Update(x, y, e, 1e-3)
			}
			b.ReportMetric(k.Flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkKalmanUpdateLocalized measures the localized update (Kalman.Localize) at the
// 64² Navier–Stokes study's size, J = 128, D = 4096, M = 1024, radius 2 on the 2π square,
// beside the published update of the same size (the baseline).
func BenchmarkKalmanUpdateLocalized(b *testing.B) {
	const j, n = 128, 64
	d, m := n*n, (n/2)*(n/2)
	for _, radius := range []float64{0, 2} {
		b.Run(fmt.Sprintf("J=%d,D=%d,M=%d,radius=%g", j, d, m, radius), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			x, y, e := randDense(r, j, d), randDense(r, j, m), randDense(r, j, m)
			k, _ := NewKalman(j, d, m)
			if radius > 0 {
				if err := k.Localize(PeriodicGrid{N: n, Stride: 2, Length: 2 * math.Pi}, radius); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k.Update(x, y, e, 1e-9)
			}
			b.ReportMetric(k.Flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkKalmanUpdateNaive is the baseline: the same algebra written with allocating
// mat.Dense expressions (centring matrices, explicit transposes), as a first port would.
func BenchmarkKalmanUpdateNaive(b *testing.B) {
	for _, sz := range kalmanSizes {
		b.Run(fmt.Sprintf("J=%d,D=%d,M=%d", sz.j, sz.d, sz.m), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			x, y, e := randDense(r, sz.j, sz.d), randDense(r, sz.j, sz.m), randDense(r, sz.j, sz.m)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				naiveUpdate(x, y, e, 1e-3)
			}
			flops := 2 * float64(sz.j) * float64(sz.j) * float64(sz.m+sz.d)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func naiveUpdate(x, y, e *mat.Dense, scale float64) {
	j, d := x.Dims()
	_, m := y.Dims()
	xbar, ybar := mat.NewVecDense(d, nil), mat.NewVecDense(m, nil)
	for i := 0; i < j; i++ {
		xbar.AddVec(xbar, x.RowView(i))
		ybar.AddVec(ybar, y.RowView(i))
	}
	xbar.ScaleVec(1/float64(j), xbar)
	ybar.ScaleVec(1/float64(j), ybar)
	xc, yc := mat.DenseCopyOf(x), mat.DenseCopyOf(y)
	for i := 0; i < j; i++ {
		xr, yr := xc.RawRowView(i), yc.RawRowView(i)
		for k := range xr {
			xr[k] -= xbar.AtVec(k)
		}
		for k := range yr {
			yr[k] -= ybar.AtVec(k)
		}
	}
	var c, delta mat.Dense
	c.Mul(e, yc.T())
	c.Scale(1/float64(j), &c)
	delta.Mul(&c, xc)
	delta.Scale(scale/mat.Norm(&c, 2), &delta)
	x.Sub(x, &delta)
}

// strided is y = x[::2, ::2] on an n×n grid without a matrix (a cheap forward model).
type strided struct{ n int }

func (s strided) InputDim() int  { return s.n * s.n }
func (s strided) OutputDim() int { return s.n * s.n / 4 }
func (s strided) Forward(_ context.Context, dst, x []float64) error {
	m := s.n / 2
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			dst[i*m+j] = x[2*i*s.n+2*j]
		}
	}
	return nil
}

// BenchmarkEnKGGuidedStep runs a 4-step EnKG (2 guided steps, 2 updates each) with J = 256 on
// a 64×64 field and a cheap forward model, so that the time is the method's own overhead
// (denoiser, ODE, Kalman update); allocations per run are reported.
func BenchmarkEnKGGuidedStep(b *testing.B) {
	const n, j = 64, 256
	op := strided{n}
	obs := make([]float64, op.OutputDim())
	p := &Problem{Observation: obs, Forward: func() (operator.Operator, error) { return op, nil }, Prior: newDiagGauss(n*n, 0, 1)}
	s := DefaultEnKGSettings()
	s.Members, s.Steps, s.Updates, s.ThresholdStart, s.ThresholdEnd = j, 4, 2, 0, 0.25
	m, _ := NewEnKG(s)
	eng, _ := NewLocal(p.Forward, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Run(context.Background(), p, eng, nil); err != nil {
			b.Fatal(err)
		}
	}
}
