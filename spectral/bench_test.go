package spectral

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

// The benchmarks time one 2-D transform of each size with this package's plan and with
// gonum's dsp/fourier composed into 2-D side by side, so that ratios from one run can be
// quoted. On a busy machine prefer the minimum-based report:
// ENKG_LONG=1 go test -run SpeedReport -v ./spectral (and ./spectral/fftw with -tags fftw).

var benchSizes = []int{64, 128, 256}

func BenchmarkRFFT2(b *testing.B) {
	for _, n := range benchSizes {
		r := rand.New(rand.NewPCG(1, 2))
		f := randReal(r, n*n)
		F := make([]complex128, n*(n/2+1))
		p, _ := NewPurePlan(n, n)
		g := newGonumPlan(n, n)
		b.Run(fmt.Sprintf("r2c/%d/enkg", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Forward(F, f)
			}
		})
		b.Run(fmt.Sprintf("r2c/%d/gonum", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Forward(F, f)
			}
		})
		p.Forward(F, f)
		b.Run(fmt.Sprintf("c2r/%d/enkg", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Inverse(f, F)
			}
		})
		b.Run(fmt.Sprintf("c2r/%d/gonum", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Inverse(f, F)
			}
		})
	}
}

// gonumCPlan composes gonum's complex FFT into fft2 (baseline for CPlan).
type gonumCPlan struct {
	nx, ny     int
	rows, cols *fourier.CmplxFFT
	col        []complex128
}

func newGonumCPlan(nx, ny int) *gonumCPlan {
	return &gonumCPlan{nx: nx, ny: ny, rows: fourier.NewCmplxFFT(ny), cols: fourier.NewCmplxFFT(nx), col: make([]complex128, nx)}
}

func (p *gonumCPlan) Forward(x []complex128) {
	for i := 0; i < p.nx; i++ {
		p.rows.Coefficients(x[i*p.ny:(i+1)*p.ny], x[i*p.ny:(i+1)*p.ny])
	}
	for j := 0; j < p.ny; j++ {
		for i := range p.col {
			p.col[i] = x[i*p.ny+j]
		}
		p.cols.Coefficients(p.col, p.col)
		for i, v := range p.col {
			x[i*p.ny+j] = v
		}
	}
}

func BenchmarkCFFT2(b *testing.B) {
	// 128: power of two; 96 = 2⁵·3 and 100 = 2²·5²: mixed radix; 256×384: a padded image.
	for _, sz := range [][2]int{{128, 128}, {96, 96}, {100, 100}, {256, 384}} {
		nx, ny := sz[0], sz[1]
		r := rand.New(rand.NewPCG(1, 2))
		x := randCmplx(r, nx*ny)
		p, _ := NewCPlan(nx, ny)
		g := newGonumCPlan(nx, ny)
		b.Run(fmt.Sprintf("c2c/%dx%d/enkg", nx, ny), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Forward(x, x)
				p.Inverse(x, x)
			}
		})
		b.Run(fmt.Sprintf("c2c/%dx%d/gonum", nx, ny), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Forward(x) // forward only, twice: the same work as one forward + inverse
				g.Forward(x)
				for i := range x {
					x[i] *= 1.0 / complex(float64(nx*ny), 0)
				}
			}
		})
	}
}

func BenchmarkGridOps(b *testing.B) {
	n := 128
	g, _ := NewGrid(n, n, 2*math.Pi, 2*math.Pi)
	r := rand.New(rand.NewPCG(1, 2))
	F := randCmplx(r, n*g.NyHalf)
	D := make([]complex128, len(F))
	e := make([]float64, g.NumShells())
	b.Run("DerivX", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			g.DerivX(D, F)
		}
	})
	b.Run("InvLaplacian", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			g.InvLaplacian(D, F)
		}
	})
	b.Run("EnergySpectrum", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			g.EnergySpectrum(e, F)
		}
	})
}

func BenchmarkGRF(b *testing.B) {
	n := 128
	g, _ := NewGRF(n, n, DefaultGRFSettings())
	dst := make([]float64, n*n)
	r := rand.New(rand.NewPCG(1, 2))
	b.Run("Sample/128", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			g.Sample(dst, r)
		}
	})
	batch := make([]float64, 32*n*n)
	b.Run("SampleBatch/32x128", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := g.SampleBatch(context.Background(), batch, 1, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
