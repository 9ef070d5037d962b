package unet

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
)

// TestTorchGrad checks the reverse mode against PyTorch autograd through NVlabs/edm's own
// networks.py (fixtures from testdata/grad/gen.py, torch 1.13 CPU, float32; see
// testdata/README.md): for every architecture variant the forward pass supports, per image
// D(x; σ), J_xᵀv and the gradient of ⟨v, D(x; σ)⟩ with respect to every parameter
// (Model.ParamVJP), the batch input VJP (Model.DenoiseVJPEach), and for G6 and G7 the EDM
// training loss and its parameter gradient (Model.LossGrad).
//
// Tolerance: the relative L2 error ‖got − ref‖/‖ref‖ of each tensor (D, J_xᵀv, the
// gradient of each parameter tensor, the loss) must be at most torchGradTol = 1e-4. Both
// sides compute in float32 (unit roundoff u ≈ 6e-8) with different summation orders (GEMM
// blocking, reductions, torch's own kernels), so neither is exact: the rounding error of a
// result relative to its size grows with the depth of the computation (here ~10–20
// layers, each a reduction of up to a few thousand terms, i.e. ~√K·u per layer with
// random-sign errors) and with cancellation in the sums over pixels that make a
// parameter gradient. Measured: D and J_xᵀv agree to ≤ 2.2e-6, every parameter tensor's
// gradient to ≤ 6e-6 (the worst are biases of norms and of the last layers of the
// 4×4 level, sums over many pixels with cancellation). 1e-4 is that bound with a margin
// of ~15, while any wrong term (a missing path, a misplaced channel or head, a wrong
// coefficient) gives errors of order 1e-2 to 1 (checked by mutating the fixture inputs).
func TestTorchGrad(t *testing.T) {
	cases := []string{"G1_edm_ddpmpp", "G2_vp_ddpmpp", "G3_ve_ddpmpp", "G4_ve_ncsnpp", "G5_edm_skip", "G6_edm_c2", "G7_edm_adm2h"}
	for _, c := range cases {
		t.Run(c, func(t *testing.T) { torchGradCase(t, c) })
	}
}

const torchGradTol = 1e-4

// The sampling of testdata/grad/gen.py for the generated (DhariwalUNet) case: the gradient
// of a tensor of more than gradSampleMax entries is stored at the flat indices
// (j·gradSampleStride) mod size, j < gradSampleN.
const (
	gradSampleMax    = 512
	gradSampleN      = 128
	gradSampleStride = 1000003
)

// torchSynth reproduces gen.py's synth(): splitmix64 of the state fnv1a(key) + (j+1)·golden,
// the top 24 bits u give (u − 2²³)/2²³ ∈ [−1, 1), scaled (exactly, in float64) by a float32
// scale, then rounded to float32.
func torchSynth(key string, n int, kind string, fanIn int) []float32 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * 0x100000001b3
	}
	var scale float64
	switch kind {
	case "weight":
		scale = float64(float32(math.Sqrt(3.0 / float64(fanIn))))
	case "bias":
		scale = float64(float32(0.05 * math.Sqrt(3.0)))
	default:
		scale = float64(float32(0.1 * math.Sqrt(3.0)))
	}
	out := make([]float32, n)
	for j := range out {
		z := h + uint64(j+1)*0x9E3779B97F4A7C15
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		u := (float64(z>>40) - (1 << 23)) / (1 << 23)
		p := u * scale // exact: 24-bit × 24-bit significands
		if kind == "norm" {
			out[j] = float32(1 + p)
		} else {
			out[j] = float32(p)
		}
	}
	return out
}

// relL2 returns ‖got − ref‖/‖ref‖ (0/0 = 0).
func relL2(got, ref []float64) float64 {
	var d, r float64
	for i := range ref {
		d += (got[i] - ref[i]) * (got[i] - ref[i])
		r += ref[i] * ref[i]
	}
	if d == 0 {
		return 0
	}
	return math.Sqrt(d / r)
}

type torchTensor struct {
	name   string
	lo, hi int   // range in the stored gradient vector
	sel    []int // Go flat indices of the stored entries
}

func torchGradCase(t *testing.T, c string) {
	dir := filepath.Join("testdata", "grad")
	all, err := datasets.LoadNPZ(filepath.Join(dir, c+".npz"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := LoadSpec(filepath.Join(dir, c+".json"))
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]*datasets.Array{}
	wsum := map[string]float64{}
	for k, v := range all {
		if n, ok := strings.CutPrefix(k, "weights:"); ok {
			state[n] = v
		} else if n, ok := strings.CutPrefix(k, "wsum:"); ok {
			wsum[n] = v.Data[0]
		}
	}
	synthetic := len(wsum) > 0
	if synthetic {
		// regenerate the parameters; the layout of a fresh network gives names and shapes
		m0, err := NewTrainable(spec, 0, Settings{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m0.Network().ParamLayout() {
			key := "model." + p.Name
			kind := "weight"
			switch {
			case isNorm(p.Name) && strings.HasSuffix(p.Name, ".weight"):
				kind = "norm"
			case strings.HasSuffix(p.Name, ".bias"):
				kind = "bias"
			}
			fan := 1
			for _, s := range p.Shape[1:] {
				fan *= s
			}
			w := torchSynth(key, p.Size, kind, fan)
			a := &datasets.Array{Shape: p.Shape, Data: make([]float64, p.Size), Dtype: "<f4"}
			var sum float64
			for i, v := range w {
				a.Data[i] = float64(v)
				sum += float64(v)
			}
			want, ok := wsum[key]
			if !ok {
				t.Fatalf("fixture has no wsum for parameter %s", key)
			}
			if math.Abs(sum-want) > 1e-9*(1+math.Abs(want)) {
				t.Fatalf("generated %s: sum %.12g, torch %.12g (generator mismatch)", key, sum, want)
			}
			state[key] = a
		}
		if len(wsum) != len(m0.Network().ParamLayout()) {
			t.Fatalf("fixture generates %d parameters, the network has %d", len(wsum), len(m0.Network().ParamLayout()))
		}
	}
	m, err := New(spec, state, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if synthetic {
		// the point of the DhariwalUNet case: attention with 1 head (64 channels at 8×8)
		// and with 2 heads (128 channels at 4×4)
		heads := map[int]int{}
		for _, ms := range [][]module{m.net.enc, m.net.dec} {
			for _, md := range ms {
				if md.block != nil {
					heads[md.block.heads]++
				}
			}
		}
		if heads[1] == 0 || heads[2] == 0 {
			t.Fatalf("attention heads per block: %v, want blocks with 1 and with 2 heads", heads)
		}
		t.Logf("blocks by number of attention heads: %v", heads)
	}
	if err := m.Trainable(); err != nil {
		t.Fatal(err)
	}
	net := m.Network()
	layout := net.ParamLayout()
	nParams := len(net.Params())

	// the stored gradients: parameters in sorted-name order (torch names), sampled for the
	// generated case
	sort.Slice(layout, func(i, j int) bool { return layout[i].Name < layout[j].Name })
	var tensors []torchTensor
	var sel []int
	for _, p := range layout {
		tt := torchTensor{name: p.Name, lo: len(sel)}
		if synthetic && p.Size > gradSampleMax {
			for j := 0; j < gradSampleN; j++ {
				sel = append(sel, p.Offset+(j*gradSampleStride)%p.Size)
			}
		} else {
			for j := 0; j < p.Size; j++ {
				sel = append(sel, p.Offset+j)
			}
		}
		tt.hi = len(sel)
		tensors = append(tensors, tt)
	}
	grad := all["grad"]
	if grad == nil || len(grad.Shape) != 2 || grad.Shape[1] != len(sel) {
		t.Fatalf("grad: shape %v, want (2, %d) (the parameter sets of torch and Go differ?)", grad.Shape, len(sel))
	}

	// compareGrad checks one stored gradient vector (ref) against the Go gradient g.
	compareGrad := func(what string, g []float32, ref []float64) float64 {
		t.Helper()
		var worst float64
		worstName := ""
		got := make([]float64, len(sel))
		for i, k := range sel {
			got[i] = float64(g[k])
		}
		for _, tt := range tensors {
			e := relL2(got[tt.lo:tt.hi], ref[tt.lo:tt.hi])
			if e > torchGradTol || math.IsNaN(e) {
				t.Errorf("%s: parameter %s: relative L2 error %.3g > %g", what, tt.name, e, torchGradTol)
			}
			if e > worst {
				worst, worstName = e, tt.name
			}
		}
		t.Logf("%s: parameter gradients, worst tensor %s %.2e, all %.2e", what, worstName, worst, relL2(got, ref))
		return worst
	}
	check := func(what string, got, ref []float64) {
		t.Helper()
		e := relL2(got, ref)
		if e > torchGradTol || math.IsNaN(e) {
			t.Errorf("%s: relative L2 error %.3g > %g", what, e, torchGradTol)
		}
		t.Logf("%s: %.2e", what, e)
	}

	// (a) ParamVJP per image
	x, v, sigma, D, vjp := all["x"], all["v"], all["sigma"], all["D"], all["vjp_x"]
	dim := m.Dim()
	B := x.Shape[0]
	for i := 0; i < B; i++ {
		d := make([]float64, dim)
		dx := make([]float64, dim)
		dp := make([]float32, nParams)
		xi, vi := x.Data[i*dim:(i+1)*dim], v.Data[i*dim:(i+1)*dim]
		if err := m.ParamVJP(d, dx, dp, xi, vi, sigma.Data[i]); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("image %d (σ %g): D", i, sigma.Data[i]), d, D.Data[i*dim:(i+1)*dim])
		check(fmt.Sprintf("image %d: J_xᵀv", i), dx, vjp.Data[i*dim:(i+1)*dim])
		compareGrad(fmt.Sprintf("image %d: J_θᵀv", i), dp, grad.Data[i*len(sel):(i+1)*len(sel)])
	}

	// (c) DenoiseVJPEach on the batch
	dst := mat.NewDense(B, dim, nil)
	if err := m.DenoiseVJPEach(context.Background(), dst, mat.NewDense(B, dim, x.Data), mat.NewDense(B, dim, v.Data), sigma.Data); err != nil {
		t.Fatal(err)
	}
	check("DenoiseVJPEach", dst.RawMatrix().Data, vjp.Data)

	// (b) the EDM loss and its gradient
	lg, ok := all["lossgrad"]
	if !ok {
		return
	}
	f32 := func(a *datasets.Array) []float32 {
		o := make([]float32, len(a.Data))
		for i, v := range a.Data {
			o[i] = float32(v)
		}
		return o
	}
	lb := LossBatch{X: f32(all["loss_y"]), Eps: f32(all["loss_eps"]), Sigma: f32(all["loss_sigma"])}
	g := make([]float32, nParams)
	losses, err := m.LossGrad(context.Background(), g, lb)
	if err != nil {
		t.Fatal(err)
	}
	var L float64
	for _, l := range losses {
		L += l * float64(dim)
	}
	L /= float64(len(losses))
	check("EDM loss", []float64{L}, all["loss"].Data)
	compareGrad("EDM loss gradient", g, lg.Data)
}
