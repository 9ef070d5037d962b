package unet

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/rng"
)

// gradSpecs are small networks covering every layer and wiring the backward pass has:
// DDPM++ (positional embedding, attention, up/down blocks), NCSN++ with the residual encoder
// (fused down convolution, [1,3,3,1] filter, Fourier embedding) and with the skip encoder,
// and DhariwalUNet (adaptive scale, multi-channel heads), under each preconditioner.
func gradSpecs() map[string]*Spec {
	song := func(pre string, mut func(*NetworkSpec)) *Spec {
		s := &Spec{Precond: PrecondSpec{Type: pre}, Network: NetworkSpec{Type: "SongUNet", ImgResolution: 16,
			InChannels: 1, OutChannels: 1, ModelChannels: 16, ChannelMult: []int{1, 2}, NumBlocks: 1, AttnResolutions: []int{8},
			ChannelMultEmb: 4, ChannelMultNoise: 1, EmbeddingType: "positional", EncoderType: "standard", DecoderType: "standard", ResampleFilter: []int{1, 1}}}
		if mut != nil {
			mut(&s.Network)
		}
		return s
	}
	return map[string]*Spec{
		"ddpmpp-edm": song("EDM", nil),
		"ddpmpp-vp":  song("VP", nil),
		"ddpmpp-ve":  song("VE", func(n *NetworkSpec) { n.InChannels, n.OutChannels = 2, 2 }),
		"ncsnpp-residual": song("EDM", func(n *NetworkSpec) {
			n.EmbeddingType, n.ChannelMultNoise, n.EncoderType, n.DecoderType, n.ResampleFilter = "fourier", 2, "residual", "skip", []int{1, 3, 3, 1}
		}),
		"ncsnpp-skip": song("EDM", func(n *NetworkSpec) {
			n.EncoderType, n.DecoderType, n.ChannelMult = "skip", "skip", []int{1, 2, 2}
		}),
		"adm": {Precond: PrecondSpec{Type: "EDM"}, Network: NetworkSpec{Type: "DhariwalUNet", ImgResolution: 16,
			InChannels: 1, OutChannels: 1, ModelChannels: 32, ChannelMult: []int{1, 4}, NumBlocks: 1, AttnResolutions: []int{8}, ChannelMultEmb: 4}}, // 2 heads of 64
	}
}

// randomTrainable builds a trainable model and gives it generic random weights (the EDM
// initialisation zeroes some layers, which would hide their gradients).
func randomTrainable(t testing.TB, spec *Spec, seed uint64) *Model {
	t.Helper()
	m, err := NewTrainable(spec, seed, Settings{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := rng.New(seed + 1)
	p := m.Network().Params()
	for _, info := range m.Network().ParamLayout() {
		d := p[info.Offset : info.Offset+info.Size]
		fan := 1
		for _, s := range info.Shape[1:] {
			fan *= s
		}
		for i := range d {
			switch {
			case isNorm(info.Name) && len(info.Shape) == 1 && hasSuffix(info.Name, ".weight"):
				d[i] = float32(1 + 0.1*r.NormFloat64())
			case len(info.Shape) == 1:
				d[i] = float32(0.05 * r.NormFloat64())
			default:
				d[i] = float32(r.NormFloat64() / math.Sqrt(float64(fan)))
			}
		}
	}
	m.Network().Refresh()
	return m
}

func randVec(r interface{ NormFloat64() float64 }, n int, s float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = s * r.NormFloat64()
	}
	return v
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// TestTapeForwardMatchesForward: the recording forward pass computes exactly what the
// inference pass computes.
func TestTapeForwardMatchesForward(t *testing.T) {
	for name, spec := range gradSpecs() {
		m := randomTrainable(t, spec, 3)
		r := rng.New(5)
		dim := m.Dim()
		x := randVec(r, dim, 1.3)
		for _, sigma := range []float64{0.05, 1, 20} {
			want := make([]float64, dim)
			if err := m.Trace(want, x, sigma, nil); err != nil {
				t.Fatal(err)
			}
			got := make([]float64, dim)
			if err := m.ParamVJP(got, nil, nil, x, randVec(r, dim, 1), sigma); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s σ=%v: recorded forward differs at %d: %v vs %v", name, sigma, i, got[i], want[i])
				}
			}
		}
	}
}

// TestVJPFiniteDifferences checks ⟨J_xᵀv, u⟩ and ⟨J_θᵀv, δθ⟩ against central differences
// of ⟨v, D⟩ along random directions. The network runs in float32: a plain central
// difference at a step large enough to beat rounding has a truncation error of ~1e-3
// (measured: it falls 4× per halving of h, as O(h²) should), so the test uses the
// Richardson extrapolation (4·Δ(h/2) − Δ(h))/3, whose error is O(h⁴) plus rounding.
func TestVJPFiniteDifferences(t *testing.T) {
	for name, spec := range gradSpecs() {
		t.Run(name, func(t *testing.T) {
			m := randomTrainable(t, spec, 11)
			r := rng.New(17)
			dim := m.Dim()
			x := randVec(r, dim, 0.8)
			v := randVec(r, dim, 1)
			for _, sigma := range []float64{0.1, 0.5, 2} {
				dx := make([]float64, dim)
				np := len(m.Network().Params())
				dp := make([]float32, np)
				if err := m.ParamVJP(nil, dx, dp, x, v, sigma); err != nil {
					t.Fatal(err)
				}
				f := func(x []float64) float64 {
					d := make([]float64, dim)
					if err := m.Trace(d, x, sigma, nil); err != nil {
						t.Fatal(err)
					}
					return dot(v, d)
				}
				// input direction
				u := randVec(r, dim, 1)
				h := 2e-2
				xp, xm := make([]float64, dim), make([]float64, dim)
				cd := func(h float64) float64 {
					for i := range x {
						xp[i], xm[i] = x[i]+h*u[i], x[i]-h*u[i]
					}
					return (f(xp) - f(xm)) / (2 * h)
				}
				fd := (4*cd(h/2) - cd(h)) / 3
				an := dot(dx, u)
				if e := math.Abs(fd-an) / (math.Abs(an) + 1e-3*math.Sqrt(dot(dx, dx))); e > 1e-3 {
					t.Errorf("σ=%v: ⟨J_xᵀv,u⟩ = %.6g, finite difference %.6g (rel %.2g)", sigma, an, fd, e)
				}
				if sigma != 0.5 {
					continue
				}
				// parameter direction, one tensor at a time so that no layer hides
				worst := 0.0
				defer func() { t.Logf("worst parameter error: %.2g of |g||δθ|", worst) }()
				params := m.Network().Params()
				orig := append([]float32(nil), params...)
				for ti, info := range m.Network().ParamLayout() {
					if hasSuffix(info.Name, "map_augment.weight") {
						continue
					}
					if name == "adm" && ti%3 != 0 {
						continue // a third of ADM's 160 tensors (the torch fixture G7 checks them all)
					}
					// a direction of the tensor's own size (rms) for weights; biases and
					// GroupNorm scales (additive or mild) get 0.5 so that the change of f
					// stays well above float32 rounding
					ss := 0.0
					for i := 0; i < info.Size; i++ {
						ss += float64(orig[info.Offset+i]) * float64(orig[info.Offset+i])
					}
					scale := math.Sqrt(ss / float64(info.Size))
					if len(info.Shape) == 1 {
						scale = max(scale, 0.5)
					}
					du := randVec(r, info.Size, scale)
					hp := 2e-2
					eval := func(step float64) float64 {
						for i := 0; i < info.Size; i++ {
							params[info.Offset+i] = float32(float64(orig[info.Offset+i]) + step*du[i])
						}
						m.Network().Refresh()
						return f(x)
					}
					cd := func(h float64) float64 { return (eval(h) - eval(-h)) / (2 * h) }
					fdp := (4*cd(hp/2) - cd(hp)) / 3
					copy(params, orig)
					m.Network().Refresh()
					anp := 0.0
					gn := 0.0
					for i := 0; i < info.Size; i++ {
						anp += float64(dp[info.Offset+i]) * du[i]
						gn += float64(dp[info.Offset+i]) * float64(dp[info.Offset+i])
					}
					// error relative to the Cauchy–Schwarz bound |g|·|δθ| (a random direction
					// gives ≈ |g||δθ|/√size; a wrong or missing term gives errors of that order)
					bound := math.Sqrt(gn) * math.Sqrt(dot(du, du))
					e := math.Abs(fdp-anp) / (bound + 1e-9)
					worst = max(worst, e)
					if e > 1e-3 {
						t.Errorf("σ=%v %s: ⟨J_θᵀv,δθ⟩ = %.6g, finite difference %.6g (error %.2g of |g||δθ| = %.3g)", sigma, info.Name, anp, fdp, e, bound)
					}
				}
			}
		})
	}
}

// TestDenoiseVJPRows: the batched VJP equals the per-image one, for any number of workers.
func TestDenoiseVJPRows(t *testing.T) {
	spec := gradSpecs()["ddpmpp-edm"]
	m := randomTrainable(t, spec, 2)
	dim := m.Dim()
	r := rng.New(9)
	const n = 5
	x := mat.NewDense(n, dim, randVec(r, n*dim, 1))
	v := mat.NewDense(n, dim, randVec(r, n*dim, 1))
	for _, w := range []int{1, 2, 3} {
		m.settings.Workers = w
		got := mat.NewDense(n, dim, nil)
		if err := m.DenoiseVJP(context.Background(), got, x, v, 0.7); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			want := make([]float64, dim)
			if err := m.ParamVJP(nil, want, nil, x.RawRowView(i), v.RawRowView(i), 0.7); err != nil {
				t.Fatal(err)
			}
			for j, g := range got.RawRowView(i) {
				if g != want[j] {
					t.Fatalf("workers %d row %d: %v vs %v", w, i, g, want[j])
				}
			}
		}
	}
}

// trainSpec is the network of issue 12's training benchmark: the EDM-layout SongUNet at
// 64², 1 channel, model_channels 32, channel_mult [1,2,2], one block per level (attention
// at 16², EDM's default).
func trainSpec() *Spec {
	return &Spec{Precond: PrecondSpec{Type: "EDM"}, Network: NetworkSpec{Type: "SongUNet", ImgResolution: 64,
		InChannels: 1, OutChannels: 1, ModelChannels: 32, ChannelMult: []int{1, 2, 2}, NumBlocks: 1, AttnResolutions: []int{16},
		ChannelMultEmb: 4, ChannelMultNoise: 1, EmbeddingType: "positional", EncoderType: "standard", DecoderType: "standard", ResampleFilter: []int{1, 1}}}
}

// BenchmarkTrainStep: one EDM loss + gradient of a batch of 16 64² images (the network of
// trainSpec); images/s = 16/(ns/op·1e-9). Compare with torchbench/train_bench.py.
func BenchmarkTrainStep(b *testing.B) {
	m, err := NewTrainable(trainSpec(), 1, Settings{})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 16
	dim := m.Dim()
	r := rng.New(3)
	lb := LossBatch{X: make([]float32, batch*dim), Eps: make([]float32, batch*dim), Sigma: make([]float32, batch)}
	for i := range lb.X {
		lb.X[i] = float32(0.5 * r.NormFloat64())
		lb.Eps[i] = float32(r.NormFloat64())
	}
	for i := range lb.Sigma {
		lb.Sigma[i] = float32(math.Exp(-1.2 + 1.2*r.NormFloat64()))
	}
	grad := make([]float32, len(m.Network().Params()))
	ctx := context.Background()
	if _, err := m.LossGrad(ctx, grad, lb); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.LossGrad(ctx, grad, lb); err != nil {
			b.Fatal(err)
		}
	}
	ips := float64(batch*b.N) / b.Elapsed().Seconds()
	b.ReportMetric(ips, "img/s")
	b.ReportMetric(3*m.Network().ForwardFLOPs()*ips/1e9, "GFLOP/s")
}

// TestLossGradRepeatable: LossGrad keeps per-image gradient buffers between calls and zeroes
// them while summing (and all of them after a cancelled call), so repeated calls give the
// same gradient bit for bit, before and after a cancelled call and a smaller batch.
func TestLossGradRepeatable(t *testing.T) {
	m := randomTrainable(t, gradSpecs()["ddpmpp-edm"], 5)
	dim := m.Dim()
	r := rng.New(9)
	batch := func(b int) LossBatch {
		lb := LossBatch{X: make([]float32, b*dim), Eps: make([]float32, b*dim), Sigma: make([]float32, b)}
		for i := range lb.X {
			lb.X[i] = float32(0.5 * r.NormFloat64())
			lb.Eps[i] = float32(r.NormFloat64())
		}
		for i := range lb.Sigma {
			lb.Sigma[i] = float32(0.2 + r.Float64())
		}
		return lb
	}
	lb, small := batch(3), batch(2)
	grad := func(ctx context.Context, lb LossBatch) ([]float32, error) {
		g := make([]float32, len(m.Network().Params()))
		_, err := m.LossGrad(ctx, g, lb)
		return g, err
	}
	want, err := grad(context.Background(), lb)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := grad(ctx, lb); err == nil {
		t.Fatal("a cancelled LossGrad returned no error")
	}
	for round, b := range []LossBatch{lb, small, lb} {
		got, err := grad(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		if round == 1 {
			continue
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("round %d: gradient[%d] = %v, want %v (the first call's)", round, i, got[i], want[i])
			}
		}
	}
}
