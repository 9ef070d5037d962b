package train

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/enkg-go/enkg/diffusion/unet"
	"github.com/enkg-go/enkg/rng"
)

// tinySpec is a small DDPM++ on 16×16 images.
func tinySpec(norm unet.Normalization) *unet.Spec {
	return &unet.Spec{Precond: unet.PrecondSpec{Type: "EDM", SigmaData: 0.5}, Normalization: norm,
		Network: unet.NetworkSpec{Type: "SongUNet", ImgResolution: 16, InChannels: 1, OutChannels: 1,
			ModelChannels: 8, ChannelMult: []int{1, 2}, NumBlocks: 1, AttnResolutions: []int{8}, ChannelMultEmb: 4,
			ChannelMultNoise: 1, EmbeddingType: "positional", EncoderType: "standard", DecoderType: "standard", ResampleFilter: []int{1, 1}}}
}

// waves draws n periodic 16×16 fields a·sin(2π(kx·x + ky·y)/16 + φ) + 3 (physical units
// with a mean and scale far from EDM's), a distribution with structure to learn.
func waves(n int, seed uint64) *Data {
	d := &Data{N: n, C: 1, H: 16, W: 16, X: make([]float32, n*256)}
	r := rng.New(seed)
	for i := 0; i < n; i++ {
		kx, ky := 1+r.IntN(2), r.IntN(2)
		ph := 2 * math.Pi * r.Float64()
		a := 4 + r.Float64()
		for y := 0; y < 16; y++ {
			for x := 0; x < 16; x++ {
				d.X[i*256+y*16+x] = float32(3 + a*math.Sin(2*math.Pi*float64(kx*x+ky*y)/16+ph))
			}
		}
	}
	return d
}

func newTrainer(t *testing.T, data *Data, s Settings, workers int) *Trainer {
	t.Helper()
	norm, err := Normalize(data, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m, err := unet.NewTrainable(tinySpec(norm), 7, unet.Settings{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(m, data, waves(16, 99), s)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestNormalize(t *testing.T) {
	d := waves(50, 1)
	n, err := Normalize(d, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	var s, q float64
	for _, v := range d.X {
		z := (float64(v) - n.Mean) / n.Std
		s += z
		q += z * z
	}
	m := s / float64(len(d.X))
	sd := math.Sqrt(q/float64(len(d.X)) - m*m)
	if math.Abs(m) > 1e-6 || math.Abs(sd-0.5) > 1e-6 {
		t.Fatalf("normalised data mean %v std %v, want 0 and 0.5", m, sd)
	}
	if _, err := Normalize(&Data{N: 1, C: 1, H: 2, W: 2, X: []float32{1, 1, 1, 1}}, 0.5); err == nil {
		t.Fatal("constant data accepted")
	}
}

// TestLossFalls trains the tiny network briefly: the validation loss at moderate noise must
// fall well below that of the untrained network, and the trained denoiser (physical units)
// must beat the trivial denoiser D = x at σ = data std.
func TestLossFalls(t *testing.T) {
	data := waves(64, 2)
	tr := newTrainer(t, data, Settings{Steps: 150, Batch: 8, LR: 2e-3, WarmupImages: 80, EMAHalfLife: 40, ShiftRows: 1, ShiftCols: 1}, 0)
	ctx := context.Background()
	before, err := tr.Validate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(ctx, nil, 0); err != nil {
		t.Fatal(err)
	}
	after, err := tr.Validate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		t.Logf("σ=%.3g loss %.4g → %.4g  (MSE %.4g → %.4g)", before[i].Sigma, before[i].Loss, after[i].Loss, before[i].MSE, after[i].MSE)
	}
	// buckets 3..5 are σ = 0.5, 1, 2 × std
	for i := 3; i <= 5; i++ {
		if !(after[i].Loss < 0.5*before[i].Loss) {
			t.Errorf("σ=%.3g: loss %.4g → %.4g did not halve", after[i].Sigma, before[i].Loss, after[i].Loss)
		}
		if s := after[i].Sigma; !(after[i].MSE < s*s) {
			t.Errorf("σ=%.3g: denoising MSE %.4g not below σ² = %.4g (D = x)", s, after[i].MSE, s*s)
		}
	}
}

// TestResumeAndWorkers: the same weights for 1 or 2 workers, and for a run split by a
// checkpoint.
func TestResumeAndWorkers(t *testing.T) {
	data := waves(32, 3)
	s := Settings{Steps: 6, Batch: 4, LR: 1e-3, WarmupImages: 8, ShiftRows: 1, ShiftCols: 1, Seed: 5}
	ctx := context.Background()
	a := newTrainer(t, data, s, 1)
	if err := a.Run(ctx, nil, 0); err != nil {
		t.Fatal(err)
	}
	b := newTrainer(t, data, s, 2)
	if err := b.Run(ctx, nil, 0); err != nil {
		t.Fatal(err)
	}
	same := func(name string, x, y []float32) {
		t.Helper()
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("%s differs at %d: %v vs %v", name, i, x[i], y[i])
			}
		}
	}
	same("1 vs 2 workers params", a.Model.Network().Params(), b.Model.Network().Params())
	same("1 vs 2 workers EMA", a.EMA(), b.EMA())

	path := filepath.Join(t.TempDir(), "ck.npz")
	c := newTrainer(t, data, Settings{Steps: 6, Batch: 4, LR: 1e-3, WarmupImages: 8, ShiftRows: 1, ShiftCols: 1, Seed: 5}, 2)
	for c.Step() < 3 {
		if _, err := c.doStep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	d := newTrainer(t, data, s, 2)
	if err := d.LoadCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	if d.Step() != 3 {
		t.Fatalf("resumed at step %d, want 3", d.Step())
	}
	if err := d.Run(ctx, nil, 0); err != nil {
		t.Fatal(err)
	}
	same("resumed params", a.Model.Network().Params(), d.Model.Network().Params())
	same("resumed EMA", a.EMA(), d.EMA())

	e := newTrainer(t, data, Settings{Steps: 6, Batch: 4, LR: 2e-3, WarmupImages: 8, ShiftRows: 1, ShiftCols: 1, Seed: 5}, 2)
	if err := e.LoadCheckpoint(path); err == nil {
		t.Fatal("a checkpoint of other settings was accepted")
	}
}

func TestSettingsErrors(t *testing.T) {
	data := waves(8, 4)
	norm, _ := Normalize(data, 0.5)
	m, err := unet.NewTrainable(tinySpec(norm), 1, unet.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Settings{{Steps: -1}, {Batch: -2}, {LR: math.NaN()}, {LR: -1}, {PStd: -1, PMean: 1}, {EMAHalfLife: -3}, {ValSigmas: []float64{0}}} {
		if _, err := New(m, data, nil, s); err == nil {
			t.Errorf("settings %+v accepted", s)
		}
	}
	bad := &Data{N: 2, C: 1, H: 8, W: 8, X: make([]float32, 128)}
	if _, err := New(m, bad, nil, Settings{}); err == nil {
		t.Error("8×8 data accepted by a 16×16 network")
	}
	nan := waves(2, 1)
	nan.X[3] = float32(math.NaN())
	if _, err := New(m, nan, nil, Settings{}); err == nil {
		t.Error("NaN data accepted")
	}
}
