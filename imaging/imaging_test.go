package imaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

var ctx = context.Background()

func load(t testing.TB, name string) *datasets.Array {
	t.Helper()
	a, err := datasets.LoadNPY(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func shapeOf(t testing.TB, a *datasets.Array) Shape {
	t.Helper()
	if len(a.Shape) != 3 {
		t.Fatalf("fixture shape %v is not (C, H, W)", a.Shape)
	}
	return Shape{a.Shape[0], a.Shape[1], a.Shape[2]}
}

func maxAbsDiff(a, b []float64) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

func maxAbs(a []float64) float64 {
	var m float64
	for _, v := range a {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

func randVec(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func TestGaussianKernelMatchesScipy(t *testing.T) {
	for _, c := range []struct {
		k     int
		sigma float64
		file  string
	}{{61, 3.0, "gauss_k61_s3.0.npy"}, {9, 3.0, "gauss_k9_s3.0.npy"}, {5, 1.0, "gauss_k5_s1.0.npy"}, {11, 0.7, "gauss_k11_s0.7.npy"}} {
		want := load(t, c.file).Data
		got, err := GaussianKernel(c.k, c.sigma)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(got, want); d > 1e-16 {
			t.Errorf("GaussianKernel(%d, %v): max |diff| from scipy = %.3g", c.k, c.sigma, d)
		}
	}
}

func TestBlurMatchesReference(t *testing.T) {
	k9, _ := GaussianKernel(9, 3)
	cases := []struct {
		img, want string
		kernel    []float64
		size      int
		sigma     float64 // > 0: Gaussian (separable available)
	}{
		{"img_3x32x32.npy", "blur_gauss9_3x32x32.npy", k9, 9, 3},
		{"img_1x64x64.npy", "blur_gauss61_1x64x64.npy", nil, 61, 3},
		{"img_2x20x36.npy", "blur_rand7_2x20x36.npy", load(t, "kernel_rand7.npy").Data, 7, 0},
	}
	for _, c := range cases {
		x := load(t, c.img)
		want := load(t, c.want).Data
		sh := shapeOf(t, x)
		methods := []BlurMethod{BlurAuto, BlurDirect, BlurFFT}
		if c.sigma > 0 {
			methods = append(methods, BlurSeparable)
		}
		for _, m := range methods {
			var b *Blur
			var err error
			if c.sigma > 0 {
				b, err = NewGaussianBlur(sh, c.size, c.sigma, BlurSettings{Method: m})
			} else {
				b, err = NewBlur(sh, c.kernel, c.size, BlurSettings{Method: m})
			}
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float64, b.OutputDim())
			if err := b.Forward(ctx, got, x.Data); err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(got, want); d > 1e-13 {
				t.Errorf("%s with %v (%v): max |diff| from the numpy reference = %.3g", c.want, m, b.Method(), d)
			}
		}
	}
}

func TestPhaseRetrievalMatchesReference(t *testing.T) {
	for _, c := range []struct {
		img, want string
		os        float64
		pad       [2]int
	}{
		{"img_3x32x32.npy", "pr_os2_3x32x32.npy", 2, [2]int{8, 8}},
		{"img_2x20x36.npy", "pr_os1_2x20x36.npy", 1, [2]int{2, 4}},
		{"img_1x28x28.npy", "pr_os2_1x28x28.npy", 2, [2]int{7, 7}},
		{"img_1x15x13.npy", "pr_os2_1x15x13.npy", 2, [2]int{3, 3}},
	} {
		x := load(t, c.img)
		want := load(t, c.want)
		p, err := NewPhaseRetrieval(shapeOf(t, x), c.os)
		if err != nil {
			t.Fatal(err)
		}
		if r, q := p.Pad(); r != c.pad[0] || q != c.pad[1] {
			t.Errorf("%s: pad (%d, %d), want %v", c.want, r, q, c.pad)
		}
		if os := p.OutShape(); os != shapeOf(t, want) {
			t.Fatalf("%s: output shape %v, want %v", c.want, os, want.Shape)
		}
		got := make([]float64, p.OutputDim())
		if err := p.Forward(ctx, got, x.Data); err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(got, want.Data); d > 1e-13 {
			t.Errorf("%s: max |diff| from the numpy reference = %.3g", c.want, d)
		}
	}
}

func TestPhaseRetrievalParsevalAndDelta(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sh := Shape{3, 10, 13}
	p, _ := NewPhaseRetrieval(sh, 2)
	x := randVec(r, sh.Dim())
	y := make([]float64, p.OutputDim())
	if err := p.Forward(ctx, y, x); err != nil {
		t.Fatal(err)
	}
	n, m := sh.H*sh.W, p.OutShape().H*p.OutShape().W
	for c := 0; c < sh.C; c++ { // orthonormal DFT: energy is preserved per channel
		ex, ey := dot(x[c*n:(c+1)*n], x[c*n:(c+1)*n]), dot(y[c*m:(c+1)*m], y[c*m:(c+1)*m])
		if math.Abs(ex-ey) > 1e-12*ex {
			t.Errorf("channel %d: ‖x‖² = %v, ‖|Fx|‖² = %v", c, ex, ey)
		}
	}
	// A delta has a flat spectrum 1/√N.
	d := make([]float64, sh.Dim())
	d[2*n+3*sh.W+5] = 1
	if err := p.Forward(ctx, y, d); err != nil {
		t.Fatal(err)
	}
	for i, v := range y[2*m:] {
		if math.Abs(v-1/math.Sqrt(float64(m))) > 1e-15 {
			t.Fatalf("delta spectrum[%d] = %v, want %v", i, v, 1/math.Sqrt(float64(m)))
		}
	}
}

func TestDownsampleMatchesReference(t *testing.T) {
	for _, c := range []struct {
		img, want string
		s         int
		m         DownsampleMethod
	}{
		{"img_3x32x32.npy", "avgpool4_3x32x32.npy", 4, AvgPool},
		{"img_3x32x32.npy", "bicubic4_3x32x32.npy", 4, Bicubic},
		{"img_2x20x36.npy", "bicubic2_2x20x36.npy", 2, Bicubic},
	} {
		x := load(t, c.img)
		want := load(t, c.want)
		d, err := NewDownsample(shapeOf(t, x), c.s, c.m)
		if err != nil {
			t.Fatal(err)
		}
		if d.OutShape() != shapeOf(t, want) {
			t.Fatalf("%s: output shape %v, want %v", c.want, d.OutShape(), want.Shape)
		}
		got := make([]float64, d.OutputDim())
		if err := d.Forward(ctx, got, x.Data); err != nil {
			t.Fatal(err)
		}
		if e := maxAbsDiff(got, want.Data); e > 1e-14 {
			t.Errorf("%s: max |diff| = %.3g", c.want, e)
		}
	}
}

func TestBicubicReproducesLinearRamps(t *testing.T) {
	// The Keys kernel reproduces linear functions; with an integer factor the output centres
	// fall midway between input pixels, so away from the border a ramp a + b·i + c·j maps
	// to its values at the output centres i = s·o + (s − 1)/2.
	sh := Shape{1, 48, 40}
	s := 4
	x := make([]float64, sh.Dim())
	for i := 0; i < sh.H; i++ {
		for j := 0; j < sh.W; j++ {
			x[i*sh.W+j] = 0.3 + 0.02*float64(i) - 0.05*float64(j)
		}
	}
	d, _ := NewDownsample(sh, s, Bicubic)
	y := make([]float64, d.OutputDim())
	if err := d.Forward(ctx, y, x); err != nil {
		t.Fatal(err)
	}
	wo := sh.W / s
	for o := 2; o < sh.H/s-2; o++ {
		for q := 2; q < wo-2; q++ {
			ci, cj := float64(s*o)+float64(s-1)/2, float64(s*q)+float64(s-1)/2
			want := 0.3 + 0.02*ci - 0.05*cj
			if math.Abs(y[o*wo+q]-want) > 1e-13 {
				t.Fatalf("bicubic ramp at (%d, %d) = %v, want %v", o, q, y[o*wo+q], want)
			}
		}
	}
}

// linearOps returns every linear operator configuration checked for its adjoint.
func linearOps(t *testing.T) map[string]operator.Linear {
	ops := map[string]operator.Linear{}
	add := func(name string, op operator.Linear, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ops[name] = op
	}
	for _, sh := range []Shape{{1, 16, 16}, {2, 12, 20}, {3, 32, 32}} {
		box, _, err := BoxMask(sh.H, sh.W, BoxMaskSettings{}, 7)
		if err != nil {
			t.Fatal(err)
		}
		op, err := NewInpaint(sh, box)
		add(fmt.Sprintf("box %v", sh), op, err)
		rm, err := RandomMask(sh.H, sh.W, 0.3, 0.7, 8)
		if err != nil {
			t.Fatal(err)
		}
		op, err = NewInpaint(sh, rm)
		add(fmt.Sprintf("random %v", sh), op, err)
		id, err := NewIdentity(sh)
		add(fmt.Sprintf("identity %v", sh), id, err)
		for _, m := range []DownsampleMethod{AvgPool, Bicubic} {
			d, err := NewDownsample(sh, 4, m)
			add(fmt.Sprintf("sr4 %v %v", m, sh), d, err)
		}
		mk, err := MotionKernel(7, 5, 30)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []BlurMethod{BlurDirect, BlurSeparable, BlurFFT} {
			for _, k := range []int{3, 9, 15} {
				b, err := NewGaussianBlur(sh, k, 2, BlurSettings{Method: m})
				add(fmt.Sprintf("gauss%d %v %v", k, m, sh), b, err)
			}
			if m != BlurSeparable {
				b, err := NewBlur(sh, mk, 7, BlurSettings{Method: m})
				add(fmt.Sprintf("motion7 %v %v", m, sh), b, err)
			}
		}
	}
	big, err := NewGaussianBlur(Shape{3, 64, 64}, 61, 3, BlurSettings{Method: BlurFFT})
	add("gauss61 fft 3×64×64", big, err)
	return ops
}

func TestAdjointIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for name, op := range linearOps(t) {
		x := randVec(r, op.InputDim())
		y := randVec(r, op.OutputDim())
		ax := make([]float64, op.OutputDim())
		aty := make([]float64, op.InputDim())
		if err := op.Forward(ctx, ax, x); err != nil {
			t.Fatal(name, err)
		}
		if err := op.Adjoint(aty, y); err != nil {
			t.Fatal(name, err)
		}
		lhs, rhs := dot(ax, y), dot(x, aty)
		scale := math.Sqrt(dot(ax, ax)*dot(y, y)) + math.Sqrt(dot(x, x)*dot(aty, aty))
		if rel := math.Abs(lhs-rhs) / scale; rel > 1e-12 {
			t.Errorf("%s: ⟨Ax,y⟩ = %.17g, ⟨x,Aᵀy⟩ = %.17g, relative gap %.3g", name, lhs, rhs, rel)
		}
	}
}

// TestAdjointIsTransposeMatrix builds the matrices of small blurs and super-resolutions column
// by column and checks that Adjoint applies their exact transposes, entry by entry.
func TestAdjointIsTransposeMatrix(t *testing.T) {
	sh := Shape{3, 8, 6}
	var ops []operator.Linear
	for _, m := range []BlurMethod{BlurDirect, BlurSeparable, BlurFFT} {
		b, err := NewGaussianBlur(sh, 9, 1.3, BlurSettings{Method: m}) // pad 4 = H/2: folding on both sides
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, b)
	}
	d, _ := NewDownsample(Shape{2, 8, 12}, 2, Bicubic)
	ops = append(ops, d)
	for k, op := range ops {
		n, m := op.InputDim(), op.OutputDim()
		a := mat.NewDense(m, n, nil)
		e := make([]float64, n)
		col := make([]float64, m)
		for j := 0; j < n; j++ {
			e[j] = 1
			if err := op.Forward(ctx, col, e); err != nil {
				t.Fatal(err)
			}
			a.SetCol(j, col)
			e[j] = 0
		}
		f := make([]float64, m)
		row := make([]float64, n)
		for i := 0; i < m; i++ {
			f[i] = 1
			if err := op.Adjoint(row, f); err != nil {
				t.Fatal(err)
			}
			for j := 0; j < n; j++ {
				if math.Abs(row[j]-a.At(i, j)) > 1e-15 {
					t.Fatalf("op %d: (Aᵀe_%d)[%d] = %v, A[%d,%d] = %v", k, i, j, row[j], i, j, a.At(i, j))
				}
			}
			f[i] = 0
		}
	}
}

func TestBlurPreservesConstantsAndMethodsAgree(t *testing.T) {
	sh := Shape{3, 20, 17}
	x := make([]float64, sh.Dim())
	for i := range x {
		x[i] = 0.75
	}
	r := rand.New(rand.NewPCG(5, 6))
	z := randVec(r, sh.Dim())
	var ref []float64
	for _, m := range []BlurMethod{BlurDirect, BlurSeparable, BlurFFT} {
		b, err := NewGaussianBlur(sh, 31, 4, BlurSettings{Method: m})
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float64, sh.Dim())
		if err := b.Forward(ctx, y, x); err != nil {
			t.Fatal(err)
		}
		for i, v := range y {
			if math.Abs(v-0.75) > 1e-14 {
				t.Fatalf("%v: blur of a constant [%d] = %v", m, i, v)
			}
		}
		if err := b.Forward(ctx, y, z); err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = y
		} else if d := maxAbsDiff(y, ref); d > 1e-14 {
			t.Errorf("%v differs from direct by %.3g", m, d)
		}
	}
}

func TestMetricsMatchSkimage(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fix struct {
		Metrics []struct {
			Ref, Test, Kind string
			Shape           []int
			DataRange       float64 `json:"data_range"`
			PSNR, SSIM      float64
		}
	}
	if err := json.Unmarshal(raw, &fix); err != nil {
		t.Fatal(err)
	}
	if len(fix.Metrics) == 0 {
		t.Fatal("no metric fixtures")
	}
	for _, c := range fix.Metrics {
		ref, test := load(t, c.Ref).Data, load(t, c.Test).Data
		sh := Shape{c.Shape[0], c.Shape[1], c.Shape[2]}
		p, err := PSNR(test, ref, c.DataRange)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(p-c.PSNR) > 1e-12*c.PSNR {
			t.Errorf("%s/%s: PSNR %.15g, skimage %.15g", c.Test, c.Kind, p, c.PSNR)
		}
		s, err := SSIM(test, ref, sh, c.DataRange)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(s-c.SSIM) > 1e-13 {
			t.Errorf("%s/%s: SSIM %.15g, skimage %.15g (diff %.3g)", c.Test, c.Kind, s, c.SSIM, s-c.SSIM)
		}
	}
}

func TestMetricsOfIdenticalImages(t *testing.T) {
	x := load(t, "img_3x32x32.npy").Data
	if p, _ := PSNR(x, x, 2); !math.IsInf(p, 1) {
		t.Errorf("PSNR of identical images = %v, want +Inf", p)
	}
	if s, _ := SSIM(x, x, Shape{3, 32, 32}, 2); math.Abs(s-1) > 1e-15 {
		t.Errorf("SSIM of identical images = %v, want 1", s)
	}
}

func TestBoxMask(t *testing.T) {
	m1, b1, err := BoxMask(256, 256, BoxMaskSettings{SizeRange: [2]int{128, 129}, Margin: [2]int{16, 16}}, 42)
	if err != nil {
		t.Fatal(err)
	}
	m2, b2, _ := BoxMask(256, 256, BoxMaskSettings{}, 42) // defaults = the published FFHQ setting
	if b1 != b2 || maxAbsDiff(m1, m2) != 0 {
		t.Errorf("defaults differ from the published setting: %+v vs %+v", b1, b2)
	}
	if b1.Height != 128 || b1.Width != 128 || b1.Top < 16 || b1.Top >= 256-16-128 || b1.Left < 16 || b1.Left >= 256-16-128 {
		t.Errorf("box %+v outside the published range", b1)
	}
	var zeros int
	for _, v := range m1 {
		if v == 0 {
			zeros++
		}
	}
	if zeros != 128*128 {
		t.Errorf("%d masked pixels, want %d", zeros, 128*128)
	}
	seen := map[Box]bool{}
	for seed := uint64(0); seed < 200; seed++ {
		_, b, err := BoxMask(32, 40, BoxMaskSettings{SizeRange: [2]int{8, 13}, Margin: [2]int{2, 3}}, seed)
		if err != nil {
			t.Fatal(err)
		}
		if b.Height < 8 || b.Height > 12 || b.Width < 8 || b.Width > 12 ||
			b.Top < 2 || b.Top >= 32-2-b.Height || b.Left < 3 || b.Left >= 40-3-b.Width {
			t.Fatalf("seed %d: box %+v outside its range", seed, b)
		}
		seen[b] = true
	}
	if len(seen) < 50 {
		t.Errorf("only %d distinct boxes in 200 seeds", len(seen))
	}
	inv, bi, _ := BoxMask(256, 256, BoxMaskSettings{Invert: true}, 42)
	if bi != b1 {
		t.Errorf("Invert changed the box")
	}
	for i := range inv {
		if inv[i] != 1-m1[i] {
			t.Fatal("inverted mask is not 1 − mask")
		}
	}
}

func TestRandomMask(t *testing.T) {
	m, err := RandomMask(28, 28, 0.5, 0.5, 1)
	if err != nil {
		t.Fatal(err)
	}
	var zeros int
	for _, v := range m {
		if v == 0 {
			zeros++
		}
	}
	if zeros != 392 {
		t.Errorf("%d zeros, want ⌊784·0.5⌋ = 392", zeros)
	}
	m2, _ := RandomMask(28, 28, 0.5, 0.5, 1)
	m3, _ := RandomMask(28, 28, 0.5, 0.5, 2)
	if maxAbsDiff(m, m2) != 0 || maxAbsDiff(m, m3) == 0 {
		t.Error("random mask is not a function of its seed")
	}
}

func TestBadInput(t *testing.T) {
	sh := Shape{3, 16, 16}
	nan := make([]float64, sh.Dim())
	nan[17] = math.NaN()
	errShape := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, ErrShape) {
			t.Errorf("%s: error %v, want ErrShape", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	_, _, err := BoxMask(16, 16, BoxMaskSettings{SizeRange: [2]int{20, 21}}, 1)
	errShape("mask larger than the image", err)
	_, _, err = BoxMask(16, 16, BoxMaskSettings{SizeRange: [2]int{8, 9}, Margin: [2]int{4, 4}}, 1)
	errShape("box that does not fit within its margins", err)
	_, _, err = BoxMask(16, 16, BoxMaskSettings{SizeRange: [2]int{8, 8}}, 1)
	errShape("empty size range", err)
	_, err = RandomMask(16, 16, 0.2, 1.5, 1)
	errShape("probability above 1", err)
	_, err = NewInpaint(sh, make([]float64, 15*16))
	errShape("mask of the wrong size", err)
	_, err = NewDownsample(sh, 3, AvgPool)
	errShape("factor not dividing the size", err)
	_, err = NewDownsample(sh, 0, Bicubic)
	errShape("zero factor", err)
	_, err = NewGaussianBlur(sh, 33, 3, BlurSettings{})
	errShape("kernel larger than the image", err)
	_, err = NewGaussianBlur(sh, 8, 3, BlurSettings{})
	errShape("even kernel size", err)
	_, err = NewGaussianBlur(sh, 5, 0, BlurSettings{})
	errShape("σ = 0", err)
	k, _ := MotionKernel(5, 3, 10)
	_, err = NewBlur(sh, k, 5, BlurSettings{Method: BlurSeparable})
	errShape("separable method for a general kernel", err)
	_, err = NewPhaseRetrieval(sh, -1)
	errShape("negative oversampling", err)
	_, err = NewIdentity(Shape{0, 4, 4})
	errShape("no channels", err)
	_, err = SSIM(make([]float64, 3*8*8), make([]float64, 3*8*8), Shape{3, 8, 8}, 1)
	errShape("SSIM on images smaller than the window", err)

	// Wrong channel count (an RGB operator given a gray image) and NaN input, for every operator.
	ops := map[string]operator.Operator{}
	for name, op := range linearOps(t) {
		ops[name] = op
	}
	pr, _ := NewPhaseRetrieval(sh, 2)
	ops["phase retrieval"] = pr
	for name, op := range ops {
		if op.InputDim()%3 != 0 {
			continue
		}
		gray := make([]float64, op.InputDim()/3)
		if err := op.Forward(ctx, make([]float64, op.OutputDim()), gray); !errors.Is(err, operator.ErrDim) {
			t.Errorf("%s: gray image to an RGB operator: error %v, want ErrDim", name, err)
		}
		x := make([]float64, op.InputDim())
		x[op.InputDim()/2] = math.NaN()
		if err := op.Forward(ctx, make([]float64, op.OutputDim()), x); !errors.Is(err, operator.ErrNonFinite) {
			t.Errorf("%s: NaN input: error %v, want ErrNonFinite", name, err)
		}
		if a, ok := op.(operator.Adjointer); ok {
			y := make([]float64, op.OutputDim())
			y[0] = math.Inf(1)
			if err := a.Adjoint(make([]float64, op.InputDim()), y); !errors.Is(err, operator.ErrNonFinite) {
				t.Errorf("%s: Inf adjoint input: error %v, want ErrNonFinite", name, err)
			}
		}
	}
	if _, err := PSNR(nan, make([]float64, len(nan)), 2); !errors.Is(err, operator.ErrNonFinite) {
		t.Errorf("PSNR of a NaN image: %v", err)
	}
	if _, err := PSNR(nan[:5], nan, 2); !errors.Is(err, operator.ErrDim) {
		t.Errorf("PSNR of different lengths: %v", err)
	}
}

func TestForwardBatchIndependentOfWorkers(t *testing.T) {
	sh := Shape{3, 16, 16}
	r := rand.New(rand.NewPCG(9, 9))
	n := 17
	x := mat.NewDense(n, sh.Dim(), randVec(r, n*sh.Dim()))
	var ref *mat.Dense
	for _, workers := range []int{1, 2, 5} {
		ops := make([]operator.Operator, workers)
		for w := range ops {
			b, err := NewGaussianBlur(sh, 9, 2, BlurSettings{Method: BlurFFT})
			if err != nil {
				t.Fatal(err)
			}
			ops[w] = b
		}
		dst := mat.NewDense(n, sh.Dim(), nil)
		if err := ForwardBatch(ctx, ops, dst, x); err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = dst
		} else if !mat.Equal(ref, dst) {
			t.Errorf("%d workers give a different result", workers)
		}
	}
	x.Set(5, 3, math.NaN())
	ops := []operator.Operator{mustIdentity(sh)}
	err := ForwardBatch(ctx, ops, mat.NewDense(n, sh.Dim(), nil), x)
	if !errors.Is(err, operator.ErrNonFinite) {
		t.Errorf("NaN in row 5: %v", err)
	}
}

func mustIdentity(sh Shape) *Identity {
	d, err := NewIdentity(sh)
	if err != nil {
		panic(err)
	}
	return d
}

func TestPhaseRetrievalVJPFiniteDifference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, sh := range []Shape{{1, 8, 8}, {3, 10, 7}} {
		p, err := NewPhaseRetrieval(sh, 2)
		if err != nil {
			t.Fatal(err)
		}
		x, d := randVec(r, sh.Dim()), randVec(r, sh.Dim())
		v := randVec(r, p.OutputDim())
		g := make([]float64, sh.Dim())
		if err := p.VJP(g, x, v); err != nil {
			t.Fatal(err)
		}
		f := func(s float64) float64 {
			xs := make([]float64, len(x))
			for i := range x {
				xs[i] = x[i] + s*d[i]
			}
			y := make([]float64, p.OutputDim())
			if err := p.Forward(ctx, y, xs); err != nil {
				t.Fatal(err)
			}
			return dot(v, y)
		}
		const eps = 1e-5
		fd := (f(eps) - f(-eps)) / (2 * eps)
		an := dot(g, d)
		if math.Abs(fd-an) > 1e-7*math.Max(1, math.Abs(an)) {
			t.Errorf("%v: ⟨Jᵀv, d⟩ = %.12g, finite difference %.12g", sh, an, fd)
		}
	}
}

func TestPhaseRetrievalExplicitPad(t *testing.T) {
	x := load(t, "img_3x32x32.npy")
	want := load(t, "pr_os2_3x32x32.npy").Data
	p, err := NewPhaseRetrievalPad(Shape{3, 32, 32}, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, p.OutputDim())
	if err := p.Forward(ctx, got, x.Data); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(got, want); d > 1e-13 {
		t.Errorf("explicit pad 8 differs from oversample 2 by %.3g", d)
	}
	if _, err := NewPhaseRetrievalPad(Shape{1, 4, 4}, -1, 0); !errors.Is(err, ErrShape) {
		t.Errorf("negative pad: %v", err)
	}
}
