package unet

import (
	"fmt"
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
		w, x, c := gemmCase(r, tc.m, tc.cin, tc.h, tc.w, tc.k, 0)
		n := tc.h * tc.w
		gemmCols(c, n, packA(w, tc.m, len(w)/tc.m), tc.m, len(w)/tc.m, &bSource{in: x, h: tc.h, w: tc.w, k: tc.k}, 0, n, make([]float32, packBSize))
		checkConv(t, fmt.Sprintf("%+v", tc), c, w, x, tc.m, tc.cin, tc.h, tc.w, tc.k, 0)
	}
}

// TestWorkspaceGemm checks workspace.gemm, which takes the direct path (B read in place,
// the input padded once) where the image rows are a multiple of nr pixels and the packed
// path elsewhere, on one and two threads, with strided channels, against a direct loop.
func TestWorkspaceGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		m, cin, h, w, k, cs int
		direct              bool
	}{
		{32, 32, 16, 64, 3, 0, true}, {7, 3, 5, 16, 3, 0, true}, {13, 70, 6, 32, 3, 0, true},
		{20, 5, 4, 48, 1, 0, true}, {9, 40, 1, 32, 1, 50, true}, {6, 2, 3, 16, 3, 60, true},
		{5, 3, 4, 48, 3, 0, true}, {7, 3, 5, 9, 3, 0, false}, {20, 5, 33, 17, 1, 0, false}, {5, 4, 8, 8, 3, 0, false},
	} {
		for _, v := range variants() {
			threads := v.threads
			name := fmt.Sprintf("%+v/%s", tc, v.name)
			restore := v.set()
			w, x, c := gemmCase(r, tc.m, tc.cin, tc.h, tc.w, tc.k, tc.cs)
			K := len(w) / tc.m
			ws := &workspace{threads: threads, packB: [][]float32{make([]float32, packBSize), make([]float32, packBSize)}}
			src := bSource{in: x, h: tc.h, w: tc.w, k: tc.k, cs: tc.cs}
			mk := ws.ar.mark()
			if got := ws.direct(&src, K, tc.h*tc.w); got != tc.direct {
				t.Fatalf("%s: direct path %v, want %v", name, got, tc.direct)
			}
			ws.ar.release(mk)
			ws.gemm(c, packA(w, tc.m, K), tc.m, K, &src, tc.h*tc.w)
			restore()
			checkConv(t, name, c, w, x, tc.m, tc.cin, tc.h, tc.w, tc.k, tc.cs)
		}
	}
}

// variant is a way to run the direct GEMM and the weight gradient: threads, and whether
// the wide (AVX-512) micro-kernels are used where the CPU has them.
type variant struct {
	name    string
	threads int
	set     func() (restore func())
}

func variants() []variant {
	narrow := func() func() {
		a, b := kernelIndWide, kernelAIndWide
		kernelIndWide, kernelAIndWide = nil, nil
		return func() { kernelIndWide, kernelAIndWide = a, b }
	}
	as := func() func() { return func() {} }
	return []variant{
		{"threads=1", 1, as}, {"threads=2", 2, as},
		{"threads=1,narrow", 1, narrow}, {"threads=2,narrow", 2, narrow},
	}
}

// gemmCase draws the weights (m × cin·k²) and input (cin planes cs apart, 0: h·w) of a
// convolution, and C filled with ones.
func gemmCase(r *rand.Rand, m, cin, h, w, k, cs int) (wt, x, c []float32) {
	if cs == 0 {
		cs = h * w
	}
	wt = make([]float32, m*cin*k*k)
	x = make([]float32, (cin-1)*cs+h*w)
	for i := range wt {
		wt[i] = float32(r.NormFloat64())
	}
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	c = make([]float32, m*h*w)
	for i := range c {
		c[i] = 1
	}
	return wt, x, c
}

// checkConv compares C with 1 + the zero-padded k×k convolution of x by w.
func checkConv(t *testing.T, name string, c, w, x []float32, m, cin, h, wd, k, cs int) {
	t.Helper()
	if cs == 0 {
		cs = h * wd
	}
	kk := cin * k * k
	n := h * wd
	pad := k / 2
	for o := 0; o < m; o++ {
		for y := 0; y < h; y++ {
			for xx := 0; xx < wd; xx++ {
				s := 1.0
				for ci := 0; ci < cin; ci++ {
					for dy := 0; dy < k; dy++ {
						for dx := 0; dx < k; dx++ {
							yy, x2 := y+dy-pad, xx+dx-pad
							if yy < 0 || yy >= h || x2 < 0 || x2 >= wd {
								continue
							}
							s += float64(w[o*kk+(ci*k+dy)*k+dx]) * float64(x[ci*cs+yy*wd+x2])
						}
					}
				}
				got := float64(c[o*n+y*wd+xx])
				if d := got - s; d > 1e-4*(1+abs(s)) || d < -1e-4*(1+abs(s)) {
					t.Fatalf("%s: C[%d][%d,%d] = %v, want %v", name, o, y, xx, got, s)
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

// TestKernelIndAgrees compares the direct micro-kernel (B rows at offsets) with the packed
// one on the same values.
func TestKernelIndAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, kb := range []int{0, 1, 5, 300} {
		a := make([]float32, max(1, kb*mr))
		for i := range a {
			a[i] = float32(r.NormFloat64())
		}
		buf := make([]float32, 40*max(1, kb)+nr)
		for i := range buf {
			buf[i] = float32(r.NormFloat64())
		}
		offs := make([]int32, max(1, kb))
		packed := make([]float32, max(1, kb*nr))
		for p := 0; p < kb; p++ {
			offs[p] = int32(r.IntN(40 * kb))
			copy(packed[p*nr:(p+1)*nr], buf[offs[p]:])
		}
		for _, f := range []struct {
			name string
			fn   func(int, []float32, []float32, []int32, []float32, int)
		}{{"kernelInd", kernelInd}, {"kernelIndGo", kernelIndGo}} {
			c1 := make([]float32, mr*20)
			c2 := make([]float32, mr*20)
			for i := range c1 {
				c1[i] = float32(i)
				c2[i] = float32(i)
			}
			f.fn(kb, a, buf, offs, c1, 20)
			kernelGo(kb, a, packed, c2, 20)
			for i := range c1 {
				if d := float64(c1[i] - c2[i]); d > 1e-4 || d < -1e-4 {
					t.Fatalf("%s kb=%d: element %d: %v vs %v", f.name, kb, i, c1[i], c2[i])
				}
			}
		}
	}
}

// TestWideKernelsAgree compares the wide (AVX-512) micro-kernels, where the CPU has them,
// with the portable ones on both halves of their nw columns.
func TestWideKernelsAgree(t *testing.T) {
	if kernelIndWide == nil {
		t.Skip("no wide micro-kernels on this CPU")
	}
	r := rand.New(rand.NewPCG(11, 12))
	norm := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	for _, kb := range []int{0, 1, 5, 300} {
		a := norm(max(1, kb*mr))
		buf := norm(40*max(1, kb) + 37 + nr)
		offs := make([]int32, max(1, kb))
		for p := 0; p < kb; p++ {
			offs[p] = int32(r.IntN(40 * kb))
		}
		for _, hoff := range []int{nr, 37} {
			c1, c2 := make([]float32, mr*40), make([]float32, mr*40)
			for i := range c1 {
				c1[i], c2[i] = float32(i), float32(i)
			}
			kernelIndWide(kb, a, buf, offs, c1, 40, hoff)
			kernelIndGo(kb, a, buf, offs, c2, 40)
			kernelIndGo(kb, a, buf[hoff:], offs, c2[nr:], 40)
			agree(t, fmt.Sprintf("kernelIndWide kb=%d hoff=%d", kb, hoff), c1, c2)
		}

		rows, w, lda, ldb := 3, max(1, kb/3), max(1, kb/3)+4, 40
		img := norm(30 + rows*lda)
		aoffs := []int32{0, 3, 30, 7, 1, 12}
		bm := norm(rows*w*ldb + nw)
		c1, c2 := make([]float32, mr*40), make([]float32, mr*40)
		kernelAIndWide(w, rows, img, aoffs, lda, bm, ldb, c1, 40)
		kernelAIndGo(w, rows, img, aoffs, lda, bm, ldb, c2, 40)
		kernelAIndGo(w, rows, img, aoffs, lda, bm[nr:], ldb, c2[nr:], 40)
		agree(t, fmt.Sprintf("kernelAIndWide kb=%d", kb), c1, c2)
	}
}

func agree(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range got {
		if d := float64(got[i] - want[i]); d > 1e-3 || d < -1e-3 {
			t.Fatalf("%s: element %d: %v vs %v", name, i, got[i], want[i])
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

// BenchmarkKernelInd and BenchmarkKernelIndWide time the direct GEMM's micro-kernels (B
// rows read at offsets, as from a padded image) on the same work per column as
// BenchmarkKernel; MB/s reads as MFLOP/s.
func BenchmarkKernelInd(b *testing.B) { benchKernelInd(b, nr, kernelInd) }

func BenchmarkKernelIndWide(b *testing.B) {
	if kernelIndWide == nil {
		b.Skip("no wide micro-kernels on this CPU")
	}
	benchKernelInd(b, nw, func(kb int, a, buf []float32, offs []int32, c []float32, ldc int) {
		kernelIndWide(kb, a, buf, offs, c, ldc, nr)
	})
}

func benchKernelInd(b *testing.B, width int, fn func(int, []float32, []float32, []int32, []float32, int)) {
	a := make([]float32, kc*mr)
	buf := make([]float32, 66*66*kc/9+nw)
	offs := make([]int32, kc)
	for p := range offs {
		ci, r := p/9, p%9
		offs[p] = int32(ci*66*66 + (r/3)*66 + r%3)
	}
	c := make([]float32, mr*width)
	b.SetBytes(int64(2 * kc * mr * width))
	for b.Loop() {
		fn(kc, a, buf, offs, c, width)
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

// TestWeightGradDirect checks the in-place weight gradient ∂Wᵀ = im2col(x)·∂yᵀ (both
// micro-kernels, one and two threads, partial panels of K, odd image widths) against a
// direct loop.
func TestWeightGradDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct{ cin, h, w, k, cout int }{
		{3, 5, 7, 3, 16}, {32, 16, 16, 3, 32}, {2, 40, 16, 3, 16}, {5, 4, 9, 1, 16}, {7, 9, 3, 3, 48}, {1, 1, 1, 1, 16},
	} {
		for _, kern := range []struct {
			name string
			fn   func(int, int, []float32, []int32, int, []float32, int, []float32, int)
		}{{"kernelAInd", kernelAInd}, {"kernelAIndGo", kernelAIndGo}} {
			for _, v := range variants() {
				threads := v.threads
				name := fmt.Sprintf("%+v/%s/%s", tc, kern.name, v.name)
				restore := v.set()
				hw := tc.h * tc.w
				K := tc.cin * tc.k * tc.k
				x := make([]float32, tc.cin*hw)
				dyT := make([]float32, hw*tc.cout)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				for i := range dyT {
					dyT[i] = float32(r.NormFloat64())
				}
				dwT := make([]float32, K*tc.cout)
				for i := range dwT {
					dwT[i] = 1
				}
				ws := &workspace{threads: threads, packB: [][]float32{make([]float32, packBSize), make([]float32, packBSize)}}
				saved := kernelAInd
				kernelAInd = kern.fn
				weightGradDirect(ws, dwT, x, tc.cin, tc.h, tc.w, tc.k, dyT, tc.cout)
				kernelAInd = saved
				restore()
				pad := tc.k / 2
				for q := 0; q < K; q++ {
					ci, rr := q/(tc.k*tc.k), q%(tc.k*tc.k)
					dy, dx := rr/tc.k-pad, rr%tc.k-pad
					for o := 0; o < tc.cout; o++ {
						s := 1.0
						for y := 0; y < tc.h; y++ {
							for xx := 0; xx < tc.w; xx++ {
								yy, x2 := y+dy, xx+dx
								if yy < 0 || yy >= tc.h || x2 < 0 || x2 >= tc.w {
									continue
								}
								s += float64(x[ci*hw+yy*tc.w+x2]) * float64(dyT[(y*tc.w+xx)*tc.cout+o])
							}
						}
						got := float64(dwT[q*tc.cout+o])
						if d := got - s; d > 1e-4*(1+abs(s)) || d < -1e-4*(1+abs(s)) {
							t.Fatalf("%s: ∂Wᵀ[%d][%d] = %v, want %v", name, q, o, got, s)
						}
					}
				}
			}
		}
	}
}
