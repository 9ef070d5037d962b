package imaging

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// benchShape is the image size of the per-operator benchmarks (RGB 64×64; the published
// experiments use 3×256×256, whose cost per image is about 16× larger for the O(N) operators).
var benchShape = Shape{3, 64, 64}

type namedOp struct {
	name string
	make func() (operator.Operator, error)
}

func benchOps(sh Shape) []namedOp {
	return []namedOp{
		{"identity", func() (operator.Operator, error) { return NewIdentity(sh) }},
		{"inpaint-box", func() (operator.Operator, error) {
			m, _, err := BoxMask(sh.H, sh.W, BoxMaskSettings{}, 1)
			if err != nil {
				return nil, err
			}
			return NewInpaint(sh, m)
		}},
		{"inpaint-random", func() (operator.Operator, error) {
			m, err := RandomMask(sh.H, sh.W, 0.3, 0.7, 1)
			if err != nil {
				return nil, err
			}
			return NewInpaint(sh, m)
		}},
		{"sr4-avgpool", func() (operator.Operator, error) { return NewDownsample(sh, 4, AvgPool) }},
		{"sr4-bicubic", func() (operator.Operator, error) { return NewDownsample(sh, 4, Bicubic) }},
		{"gauss-blur-k9", func() (operator.Operator, error) { return NewGaussianBlur(sh, 9, 3, BlurSettings{}) }},
		{"gauss-blur-k61", func() (operator.Operator, error) { return NewGaussianBlur(sh, 61, 3, BlurSettings{}) }},
		{"motion-blur-k9", func() (operator.Operator, error) {
			k, err := MotionKernel(9, 7, 30)
			if err != nil {
				return nil, err
			}
			return NewBlur(sh, k, 9, BlurSettings{})
		}},
		{"phase-retrieval-os2", func() (operator.Operator, error) { return NewPhaseRetrieval(sh, 2) }},
	}
}

// BenchmarkOperatorBatch256 applies each operator to a batch of 256 images through
// ForwardBatch on one worker (ns/image reported; allocations are per batch of 256).
func BenchmarkOperatorBatch256(b *testing.B) {
	const n = 256
	r := rand.New(rand.NewPCG(1, 1))
	x := mat.NewDense(n, benchShape.Dim(), randVec(r, n*benchShape.Dim()))
	for _, c := range benchOps(benchShape) {
		op, err := c.make()
		if err != nil {
			b.Fatal(err)
		}
		dst := mat.NewDense(n, op.OutputDim(), nil)
		ops := []operator.Operator{op}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := ForwardBatch(ctx, ops, dst, x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/image")
		})
	}
}

// BenchmarkAdjoint applies each linear operator's adjoint to one image.
func BenchmarkAdjoint(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, c := range benchOps(benchShape) {
		op, err := c.make()
		if err != nil {
			b.Fatal(err)
		}
		a, ok := op.(operator.Adjointer)
		if !ok {
			continue
		}
		y := randVec(r, op.OutputDim())
		dst := make([]float64, op.InputDim())
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Adjoint(dst, y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBlurCrossover times the Gaussian blur of one 3×64×64 image by the direct 2-D
// correlation, the separable passes and the FFT for growing kernel sizes.
func BenchmarkBlurCrossover(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	x := randVec(r, benchShape.Dim())
	y := make([]float64, benchShape.Dim())
	for _, k := range []int{3, 5, 7, 9, 11, 15, 21, 31, 45, 61} {
		for _, m := range []BlurMethod{BlurDirect, BlurSeparable, BlurFFT} {
			op, err := NewGaussianBlur(benchShape, k, float64(k)/6, BlurSettings{Method: m})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("k=%d/%v", k, m), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := op.Forward(ctx, y, x); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestForwardAllocatesNothing checks the zero-allocation claim of every Forward and Adjoint.
func TestForwardAllocatesNothing(t *testing.T) {
	sh := Shape{3, 16, 16}
	r := rand.New(rand.NewPCG(4, 4))
	x := randVec(r, sh.Dim())
	for _, c := range benchOps(sh) {
		if c.name == "gauss-blur-k61" {
			continue // too large for 16×16
		}
		op, err := c.make()
		if err != nil {
			t.Fatal(c.name, err)
		}
		y := make([]float64, op.OutputDim())
		if a := testing.AllocsPerRun(5, func() { _ = op.Forward(ctx, y, x) }); a != 0 {
			t.Errorf("%s: Forward allocates %v times", c.name, a)
		}
		if adj, ok := op.(operator.Adjointer); ok {
			z := make([]float64, op.InputDim())
			if a := testing.AllocsPerRun(5, func() { _ = adj.Adjoint(z, y) }); a != 0 {
				t.Errorf("%s: Adjoint allocates %v times", c.name, a)
			}
		}
	}
}
