package unet

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion"
)

func caseA(t *testing.T) (*Spec, map[string]*datasets.Array) {
	t.Helper()
	spec, err := LoadSpec(filepath.Join("testdata", "A_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := datasets.LoadNPZ(filepath.Join("testdata", "A_weights.npz"))
	if err != nil {
		t.Fatal(err)
	}
	return spec, st
}

// TestLoadErrors: a missing, an extra, a mis-shaped and a non-finite tensor, and a wrong
// resample filter, are each an error naming the tensor.
func TestLoadErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(map[string]*datasets.Array)
		want string
	}{
		{"missing", func(s map[string]*datasets.Array) { delete(s, "model.enc.8x8_down.norm1.bias") }, "missing tensor(s) for DhariwalUNet: enc.8x8_down.norm1.bias"},
		{"extra", func(s map[string]*datasets.Array) {
			s["model.enc.8x8_down.qkv.weight"] = &datasets.Array{Shape: []int{1}, Data: []float64{1}}
		}, "unexpected tensor(s) for DhariwalUNet: model.enc.8x8_down.qkv.weight"},
		{"outside", func(s map[string]*datasets.Array) {
			s["sigma_data"] = &datasets.Array{Shape: []int{1}, Data: []float64{1}}
		}, "outside the network: sigma_data"},
		{"shape", func(s map[string]*datasets.Array) {
			a := s["model.map_layer1.weight"]
			a.Shape = []int{a.Shape[1], a.Shape[0], 1}
		}, "model.map_layer1.weight has shape [64 64 1], want [64 64]"},
		{"nan", func(s map[string]*datasets.Array) { s["model.out_conv.bias"].Data[0] = math.NaN() }, "model.out_conv.bias has a non-finite value"},
		{"filter", func(s map[string]*datasets.Array) {
			s["model.enc.8x8_down.conv0.resample_filter"].Data[1] = 0.5
		}, "enc.8x8_down.conv0.resample_filter[0,1] = 0.5, want 0.25"},
	} {
		spec, st := caseA(t)
		c.edit(st)
		_, err := New(spec, st, Settings{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

// TestSpecErrors: unsupported or impossible descriptions are rejected with a reason.
func TestSpecErrors(t *testing.T) {
	parse := func(b []byte) (*Spec, error) {
		s, err := ParseSpec(b)
		if err != nil {
			return nil, err
		}
		_, err = NewNetwork(s.Network)
		return s, err
	}
	for _, c := range []struct{ json, want string }{
		{`{"precond":{"type":"EDM"},"network":{"type":"SongUNet","img_resolution":32,"embedding_type":"sinusoid"}}`, "embedding_type \"sinusoid\""},
		{`{"precond":{"type":"EDM"},"network":{"type":"SongUNet","img_resolution":32,"encoder_type":"resnet"}}`, "encoder_type \"resnet\""},
		{`{"precond":{"type":"EDM"},"network":{"type":"SongUNet","img_resolution":32,"decoder_type":"fancy"}}`, "decoder_type \"fancy\""},
		{`{"precond":{"type":"EDM"},"network":{"type":"DhariwalUNet","img_resolution":32,"label_dim":10}}`, "class-conditional"},
		{`{"precond":{"type":"XY"},"network":{"type":"DhariwalUNet","img_resolution":32}}`, "unknown preconditioner"},
		{`{"precond":{"type":"EDM"},"network":{"type":"UNet2D","img_resolution":32}}`, "unknown network type"},
		{`{"precond":{"type":"EDM"},"network":{"type":"DhariwalUNet","img_resolution":18,"channel_mult":[1,2,2]}}`, "not divisible"},
		{`{"precond":{"type":"EDM"},"network":{"type":"DhariwalUNet"}}`, "img_resolution is required"},
		{`{"precond":{"type":"EDM"},"network":{"type":"DhariwalUNet","img_resolution":16},"extra":1}`, "unknown field"},
		{`{"format":"v9","precond":{"type":"EDM"},"network":{"type":"DhariwalUNet","img_resolution":16}}`, "unknown description format"},
		{`{"precond":{"type":"EDM"},"network":{"type":"DhariwalUNet","img_resolution":16},"normalization":{"std":-1}}`, "normalization std"},
		{`[1]`, "not a JSON object"},
		{`{"precond":{"type":"EDM"},"network":{"type":"DhariwalUNet","img_resolution":16,"model_channels":130,"channel_mult":[1]}}`, "do not divide into the groups"},
	} {
		_, err := parse([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.json, err, c.want)
		}
	}
}

// TestSpecRoundTrip: the reference config and our JSON written from it describe the same
// model (same tensors), and the defaults are the EDM class defaults.
func TestSpecRoundTrip(t *testing.T) {
	for _, c := range []string{"A", "B", "C", "D"} {
		s, err := LoadSpec(filepath.Join("testdata", c+"_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.JSON()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseSpec(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c, err, b)
		}
		n1, _ := NewNetwork(s.Network)
		n2, _ := NewNetwork(s2.Network)
		if strings.Join(n1.tensorNames(), ",") != strings.Join(n2.tensorNames(), ",") || s.Precond != s2.Precond {
			t.Errorf("%s: round trip changed the model:\n%+v\n%+v", c, s, s2)
		}
	}
	s, err := ParseSpec([]byte(`{"precond":{"type":"VPPrecond"},"network":{"type":"SongUNet","img_resolution":64}}`))
	if err != nil {
		t.Fatal(err)
	}
	net, err := NewNetwork(s.Network)
	if err != nil {
		t.Fatal(err)
	}
	if sh := net.TensorShapes()["enc.64x64_conv.weight"]; len(sh) != 4 || sh[0] != 128 || sh[1] != 1 || sh[2] != 3 {
		t.Errorf("TensorShapes: enc.64x64_conv.weight %v", sh)
	}
	if s.Precond.BetaD != 19.9 || s.Precond.M != 1000 || s.Network.ModelChannels != 128 || len(s.Network.ChannelMult) != 4 ||
		s.Network.NumBlocks != 4 || s.Network.OutChannels != 1 || s.Normalization.Std != 1 {
		t.Errorf("defaults: %+v", s)
	}
}

// TestNormalization: with x_model = (x − μ)/s the denoiser in user space is
// μ + s·D_model((x − μ)/s; σ/s).
func TestNormalization(t *testing.T) {
	spec, st := caseA(t)
	m0, err := New(spec, st, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	s2 := *spec
	s2.Normalization = Normalization{Mean: 3, Std: 2}
	m1, err := New(&s2, st, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	x := load(t, filepath.Join("testdata", "A_x.npy"))
	dim := m0.Dim()
	xm := mat.NewDense(1, dim, append([]float64(nil), x.Data[dim:2*dim]...))
	xu := mat.NewDense(1, dim, nil)
	for i, v := range xm.RawMatrix().Data {
		xu.RawMatrix().Data[i] = 3 + 2*v
	}
	d0 := mat.NewDense(1, dim, nil)
	d1 := mat.NewDense(1, dim, nil)
	if err := m0.Denoise(context.Background(), d0, xm, 0.7); err != nil {
		t.Fatal(err)
	}
	if err := m1.Denoise(context.Background(), d1, xu, 1.4); err != nil {
		t.Fatal(err)
	}
	for i, v := range d0.RawMatrix().Data {
		if w := 3 + 2*v; math.Abs(d1.RawMatrix().Data[i]-w) > 1e-5*(1+math.Abs(w)) {
			t.Fatalf("pixel %d: %v, want %v", i, d1.RawMatrix().Data[i], w)
		}
	}
}

// TestDenoiseErrors: bad σ, NaN input and shape mismatches are errors; dst may alias x;
// repeated calls allocate no activations and give identical results.
func TestDenoiseErrors(t *testing.T) {
	spec, st := caseA(t)
	m, err := New(spec, st, Settings{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	dim := m.Dim()
	ctx := context.Background()
	x := mat.NewDense(2, dim, nil)
	for i := range x.RawMatrix().Data {
		x.RawMatrix().Data[i] = math.Sin(float64(i))
	}
	d := mat.NewDense(2, dim, nil)
	for _, s := range []float64{-1, math.NaN(), math.Inf(1)} {
		if err := m.Denoise(ctx, d, x, s); !errors.Is(err, diffusion.ErrParam) || !strings.Contains(err.Error(), "sigma") {
			t.Errorf("σ=%v: error %v", s, err)
		}
	}
	if err := m.Denoise(ctx, d, x, 0); err != nil || !mat.Equal(d, x) {
		t.Errorf("σ = 0: D(x; 0) must be x (err %v)", err)
	}
	if err := m.Denoise(ctx, mat.NewDense(3, dim, nil), x, 1); !errors.Is(err, diffusion.ErrDim) || !strings.Contains(err.Error(), "shape mismatch") {
		t.Errorf("shape: %v", err)
	}
	if err := m.DenoiseEach(ctx, d, x, []float64{1}); err == nil {
		t.Error("DenoiseEach with 1 σ for 2 images: no error")
	}
	bad := mat.DenseCopyOf(x)
	bad.Set(1, 5, math.NaN())
	if err := m.Denoise(ctx, d, bad, 1); !errors.Is(err, diffusion.ErrNonFinite) || !strings.Contains(err.Error(), "image 1: non-finite input at index 5") {
		t.Errorf("NaN: %v", err)
	}
	if err := m.Denoise(ctx, d, x, 1); err != nil {
		t.Fatal(err)
	}
	alias := mat.DenseCopyOf(x)
	if err := m.Denoise(ctx, alias, alias, 1); err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(alias, d) {
		t.Error("dst aliasing x changes the result")
	}
	allocs := testing.AllocsPerRun(3, func() {
		if err := m.Denoise(ctx, d, x, 1); err != nil {
			t.Fatal(err)
		}
	})
	// the workspaces are reused: only the goroutines of the pool allocate
	if allocs > 12 {
		t.Errorf("%v allocations per Denoise", allocs)
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Denoise(ctx2, d, x, 1); err == nil {
		t.Error("cancelled context: no error")
	}
}

// TestFourierEmbedding: a SongUNet with embedding_type "fourier" (NCSN++'s noise embedding,
// channel_mult_noise 2) expects the buffer map_noise.freqs and embeds c_noise as
// [sin(t·2πf) | cos(t·2πf)] (after SongUNet's swap), 2π·f rounded to float32 as torch does.
func TestFourierEmbedding(t *testing.T) {
	s, err := ParseSpec([]byte(`{"precond":{"type":"VE"},"network":{"type":"SongUNet","img_resolution":16,
		"model_channels":16,"channel_mult":[1,2],"attn_resolutions":[8],"num_blocks":1,
		"embedding_type":"fourier","channel_mult_noise":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	st := randomState(t, s, 3)
	if _, ok := st["model.map_noise.freqs"]; !ok {
		t.Fatal("no model.map_noise.freqs among the expected tensors")
	}
	if got := st["model.map_layer0.weight"].Shape; got[1] != 32 {
		t.Fatalf("map_layer0 input width %d, want model_channels·channel_mult_noise = 32", got[1])
	}
	f := st["model.map_noise.freqs"]
	for i := range f.Data {
		f.Data[i] = float64(float32(16 * math.Sin(float64(i)+0.5)))
	}
	m, err := New(s, st, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	const sigma = 3.0
	_, _, _, cn := m.Coefficients(sigma)
	var emb []float32
	x := make([]float64, m.Dim())
	if err := m.Trace(x[:0:0], x, sigma, nil); err == nil {
		t.Fatal("Trace with a short dst: no error")
	}
	dst := make([]float64, m.Dim())
	if err := m.Trace(dst, x, sigma, func(name string, d []float32) {
		if name == "map_noise" {
			emb = append(emb, d...)
		}
	}); err != nil {
		t.Fatal(err)
	}
	for i, fv := range f.Data {
		a := float64(cn * (float32(2*math.Pi) * float32(fv)))
		if d := math.Abs(float64(emb[i]) - math.Cos(a)); d > 1e-6 {
			t.Errorf("cos part %d: %v, want %v", i, emb[i], math.Cos(a))
		}
		if d := math.Abs(float64(emb[16+i]) - math.Sin(a)); d > 1e-6 {
			t.Errorf("sin part %d: %v, want %v", i, emb[16+i], math.Sin(a))
		}
	}
}
