package interferometry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// Benchmarks of the EnKG hot path on the reference problem: 64×64 images, 837 visibilities,
// 508 + 427 minimal closures. Compare with scripts in testdata/bench_numpy.py (numpy's dense
// A·X with the 837×4096 complex DFT matrix), run side by side.

func benchDFT(b *testing.B, m Method) (*DFT, []float64) {
	o := refObservation(b)
	d, err := NewDFT(refGrid(b), o.U, o.V, m)
	if err != nil {
		b.Fatal(err)
	}
	return d, refFloats(b, "image1")
}

func BenchmarkDFTOne(b *testing.B) {
	for _, m := range []Method{Separable, Dense} {
		b.Run(m.String(), func(b *testing.B) {
			d, img := benchDFT(b, m)
			vis := make([]complex128, d.Len())
			w := d.NewWorkspace()
			b.ReportAllocs()
			for b.Loop() {
				d.Forward(vis, img, w)
			}
		})
	}
	b.Run("separable-parallel", func(b *testing.B) {
		d, img := benchDFT(b, Separable)
		vis := make([]complex128, d.Len())
		b.ReportAllocs()
		for b.Loop() {
			_ = d.ForwardParallel(context.Background(), vis, img, 0)
		}
	})
}

func stack(b testing.TB, n int) *mat.Dense {
	img := refFloats(b, "image1")
	X := mat.NewDense(n, len(img), nil)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		row := X.RawRowView(i)
		for j, v := range img {
			row[j] = v * (1 + 0.1*r.NormFloat64())
		}
	}
	return X
}

func BenchmarkDFTBatch256(b *testing.B) {
	for _, m := range []Method{Separable, Dense} {
		b.Run(m.String(), func(b *testing.B) {
			d, _ := benchDFT(b, m)
			X := stack(b, 256)
			out := make([][]complex128, 256)
			for i := range out {
				out[i] = make([]complex128, d.Len())
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := d.ForwardBatch(context.Background(), out, X, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/256, "ns/image")
		})
	}
}

// BenchmarkBlackHoleOne: one 64² image to the 837 amplitudes, 508 closure phases, 427 log
// closure amplitudes and the flux.
func BenchmarkBlackHoleOne(b *testing.B) {
	bh, x := refBlackHole(b, Auto)
	y := make([]float64, bh.OutputDim())
	b.ReportAllocs()
	for b.Loop() {
		_ = bh.Forward(context.Background(), y, x)
	}
}

func BenchmarkBlackHoleBatch256(b *testing.B) {
	bh, _ := refBlackHole(b, Auto)
	X := stack(b, 256)
	Y := mat.NewDense(256, bh.OutputDim(), nil)
	_ = bh.ForwardBatch(context.Background(), Y, X, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := bh.ForwardBatch(context.Background(), Y, X, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/256, "ns/image")
}

// BenchmarkDFTSizes compares the two methods across image sizes (837 visibilities), one image
// and batches of 64, to set Auto's crossover.
func BenchmarkDFTSizes(b *testing.B) {
	o := refObservation(b)
	for _, n := range []int{8, 16, 32, 64} {
		g, _ := NewGrid(n, 160)
		for _, m := range []Method{Separable, Dense} {
			d, err := NewDFT(g, o.U, o.V, m)
			if err != nil {
				b.Fatal(err)
			}
			img := make([]float64, g.Len())
			for i := range img {
				img[i] = float64(i % 7)
			}
			vis := make([]complex128, d.Len())
			b.Run(fmt.Sprintf("%d/%v/one", n, m), func(b *testing.B) {
				w := d.NewWorkspace()
				for b.Loop() {
					d.Forward(vis, img, w)
				}
			})
			X := mat.NewDense(64, g.Len(), nil)
			for i := 0; i < 64; i++ {
				copy(X.RawRowView(i), img)
			}
			out := make([][]complex128, 64)
			for i := range out {
				out[i] = make([]complex128, d.Len())
			}
			b.Run(fmt.Sprintf("%d/%v/batch64", n, m), func(b *testing.B) {
				for b.Loop() {
					_ = d.ForwardBatch(context.Background(), out, X, 0)
				}
			})
		}
	}
}
