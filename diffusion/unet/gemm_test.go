package unet

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmAgainstNaive checks the blocked GEMM (packing, edge tiles, K and N blocking,
// 3×3 implicit im2col with zero padding, strided channels) against a direct loop.
func TestGemmAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ m, cin, h, w, k int }{
		{7, 3, 5, 9, 3}, {13, 40, 11, 7, 3}, {6, 300, 4, 40, 1}, {33, 31, 24, 24, 3}, {1, 1, 1, 1, 1}, {20, 5, 33, 17, 1},
	} {
		kk := tc.cin * tc.k * tc.k
		w := make([]float32, tc.m*kk)
		x := make([]float32, tc.cin*tc.h*tc.w)
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		n := tc.h * tc.w
		c := make([]float32, tc.m*n)
		for i := range c {
			c[i] = 1
		}
		gemmCols(c, n, packA(w, tc.m, kk), tc.m, kk, &bSource{in: x, h: tc.h, w: tc.w, k: tc.k}, 0, n, make([]float32, packBSize))
		pad := tc.k / 2
		for o := 0; o < tc.m; o++ {
			for y := 0; y < tc.h; y++ {
				for xx := 0; xx < tc.w; xx++ {
					s := 1.0
					for ci := 0; ci < tc.cin; ci++ {
						for dy := 0; dy < tc.k; dy++ {
							for dx := 0; dx < tc.k; dx++ {
								yy, x2 := y+dy-pad, xx+dx-pad
								if yy < 0 || yy >= tc.h || x2 < 0 || x2 >= tc.w {
									continue
								}
								s += float64(w[o*kk+(ci*tc.k+dy)*tc.k+dx]) * float64(x[(ci*tc.h+yy)*tc.w+x2])
							}
						}
					}
					got := float64(c[o*n+y*tc.w+xx])
					if d := got - s; d > 1e-4*(1+abs(s)) || d < -1e-4*(1+abs(s)) {
						t.Fatalf("%+v: C[%d][%d,%d] = %v, want %v", tc, o, y, xx, got, s)
					}
				}
			}
		}
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestKernelsAgree compares the assembly micro-kernel (where present) with the Go one.
func TestKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, kb := range []int{0, 1, 7, 256} {
		a := make([]float32, max(1, kb*mr))
		b := make([]float32, max(1, kb*nr))
		for i := range a {
			a[i] = float32(r.NormFloat64())
		}
		for i := range b {
			b[i] = float32(r.NormFloat64())
		}
		c1 := make([]float32, mr*20)
		c2 := make([]float32, mr*20)
		for i := range c1 {
			c1[i] = float32(i)
			c2[i] = float32(i)
		}
		kernel(kb, a, b, c1, 20)
		kernelGo(kb, a, b, c2, 20)
		for i := range c1 {
			if d := float64(c1[i] - c2[i]); d > 1e-4 || d < -1e-4 {
				t.Fatalf("kb=%d: element %d: %v vs %v", kb, i, c1[i], c2[i])
			}
		}
	}
}

func BenchmarkKernel(b *testing.B) {
	a := make([]float32, kc*mr)
	bb := make([]float32, kc*nr)
	c := make([]float32, mr*nr)
	b.SetBytes(int64(2 * kc * mr * nr)) // "bytes" = flops: MB/s reads as MFLOP/s
	for b.Loop() {
		kernel(kc, a, bb, c, nr)
	}
}

func BenchmarkKernelGo(b *testing.B) {
	a := make([]float32, kc*mr)
	bb := make([]float32, kc*nr)
	c := make([]float32, mr*nr)
	b.SetBytes(int64(2 * kc * mr * nr))
	for b.Loop() {
		kernelGo(kc, a, bb, c, nr)
	}
}

// TestExpf checks the float32 exponential against math.Exp over the range SiLU and the
// softmax use.
func TestExpf(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 88.5; x += 0.0137 {
		got := float64(expf(float32(x)))
		want := math.Exp(float64(float32(x)))
		rel := math.Abs(got-want) / want
		worst = max(worst, rel)
	}
	if worst > 2.5e-7 {
		t.Errorf("expf: worst relative error %.3g", worst)
	}
	if !math.IsInf(float64(expf(100)), 1) || expf(-200) != 0 || expf(0) != 1 {
		t.Errorf("expf edge values: %v %v %v", expf(100), expf(-200), expf(0))
	}
}

// TestSiluAffine compares the vectorised SiLU with the scalar formula, including the
// tails where exp over- or underflows and a length that is not a multiple of 8.
func TestSiluAffine(t *testing.T) {
	src := make([]float32, 1003)
	for i := range src {
		src[i] = float32(-120 + 0.24*float64(i))
	}
	dst := make([]float32, len(src))
	siluAffine(dst, src, 0.9, 0.3)
	for i, v := range src {
		// z = v·a + b exactly; the float32 evaluation (fused or not) may differ by an ulp of z,
		// which changes silu(z) by up to (1+|z|)·ulp(z) relatively
		z := float64(v)*float64(float32(0.9)) + float64(float32(0.3))
		want := z / (1 + math.Exp(-z))
		if d := math.Abs(float64(dst[i]) - want); d > (3e-7+(1+math.Abs(z))*ulp32(z))*math.Abs(want)+1e-30 {
			t.Fatalf("silu(%v) = %v, want %v", z, dst[i], want)
		}
	}
}

// TestDsiluMul checks d·SiLU'(z) against float64 for z over the whole float32 range of use.
func TestDsiluMul(t *testing.T) {
	src := make([]float32, 1003)
	d := make([]float32, len(src))
	for i := range src {
		src[i] = float32(-120 + 0.24*float64(i))
		d[i] = float32(1 + 0.001*float64(i))
	}
	dsiluMul(d, src, 0.9, 0.3)
	for i, v := range src {
		z := float64(v)*float64(float32(0.9)) + float64(float32(0.3))
		s := 1 / (1 + math.Exp(-z))
		want := float64(float32(1+0.001*float64(i))) * s * (1 + z*(1-s))
		// the derivative's relative sensitivity to an ulp of z is |z|·|s''/s'| ≲ |z|
		if e := math.Abs(float64(d[i]) - want); e > (1e-6+4*(1+math.Abs(z))*ulp32(z))*math.Abs(want)+1e-30 {
			t.Fatalf("d·silu'(%v) = %v, want %v", z, d[i], want)
		}
	}
}
