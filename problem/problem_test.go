package problem_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/problem"
)

const linCfg = `
problem: {kind: linear-gaussian, size: 8, stride: 2, noise: 0.1}
prior: {kind: gaussian, variance: 1}
truth: {seed: 3}
algorithm:
  name: enkg
  enkg: {members: 16, steps: 8, updates: 1, scale: 1}
`

func build(t *testing.T, text string, sets ...string) *problem.Problem {
	t.Helper()
	c, err := problem.Parse(text, sets...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := problem.Build(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPosteriorMeanExact checks the exact posterior mean against the closed form of an
// isotropic prior N(0, (s·1)²) in physical units: μ_k = s²v/(s²v + σ²)·y at observed
// points, 0 elsewhere — with the normalisation scale s = 3 (units are physical).
func TestPosteriorMeanExact(t *testing.T) {
	p := build(t, linCfg, "prior.scale=3")
	v, s2 := 9.0, 0.01
	obs := problem.Stride{N: 8, S: 2}.Indices()
	want := make([]float64, 64)
	for a, k := range obs {
		want[k] = v / (v + s2) * p.Observation[a]
	}
	for k := range want {
		if math.Abs(p.PosteriorMean[k]-want[k]) > 1e-9 {
			t.Fatalf("posterior mean[%d] = %v, want %v", k, p.PosteriorMean[k], want[k])
		}
	}
	// The truth is a physical draw: its spread is about 3, not 1.
	var ss float64
	for _, x := range p.Truth {
		ss += x * x
	}
	if sd := math.Sqrt(ss / 64); sd < 2 || sd > 4.5 {
		t.Errorf("truth std %.2f, want about 3 (physical units)", sd)
	}
}

// TestUnitsEquivariant: EKI with prior N(0, 9) written as variance 9 or as variance 1 with
// normalisation scale 3 gives the same physical result (the Kalman update is equivariant),
// so results are reported in physical units whatever the prior's space.
func TestUnitsEquivariant(t *testing.T) {
	ctx := context.Background()
	run := func(sets ...string) *guidance.Result {
		c, err := problem.Parse(linCfg, append([]string{"algorithm.name=eki"}, sets...)...)
		if err != nil {
			t.Fatal(err)
		}
		p, err := problem.Build(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Method()
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.Run(ctx, m, guidance.Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := run("prior.variance=9")
	b := run("prior.scale=3")
	for k := range a.Mean {
		if math.Abs(a.Mean[k]-b.Mean[k]) > 1e-9*(1+math.Abs(a.Mean[k])) || math.Abs(a.Std[k]-b.Std[k]) > 1e-9*(1+a.Std[k]) {
			t.Fatalf("member mean/std [%d]: %v/%v vs %v/%v", k, a.Mean[k], a.Std[k], b.Mean[k], b.Std[k])
		}
	}
	if a.Metrics["rel_l2"] != b.Metrics["rel_l2"] && math.Abs(a.Metrics["rel_l2"]-b.Metrics["rel_l2"]) > 1e-12 {
		t.Errorf("rel_l2 %v vs %v", a.Metrics["rel_l2"], b.Metrics["rel_l2"])
	}
}

// TestEqualBudget: the EnKG budget is known before the run, EnKG spends it, and EKI with
// equal_budget spends exactly the same.
func TestEqualBudget(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"enkg", "eki"} {
		c, err := problem.Parse(linCfg, "algorithm.name="+name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := problem.Build(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Method()
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.Run(ctx, m, guidance.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// 16 members × 1 update × guided steps 1..7 of 8 (start·N = 0.8 < i < 8 − ⌊0.8⌋).
		if want := int64(16 * 1 * 7); c.Budget() != want || r.Counts.Forward != want {
			t.Errorf("%s: budget %d, spent %d, want %d", name, c.Budget(), r.Counts.Forward, want)
		}
	}
}

// TestGivenData: truth.file and observation.file are read by shape (a flat array of the
// right length is an error), and the drawn noise differs between truths.
func TestGivenData(t *testing.T) {
	dir := t.TempDir()
	truth := make([]float64, 64)
	for i := range truth {
		truth[i] = float64(i)
	}
	tf, flat, of := filepath.Join(dir, "t.npy"), filepath.Join(dir, "flat.npy"), filepath.Join(dir, "y.npy")
	must(t, datasets.SaveNPY(tf, []int{8, 8}, truth))
	must(t, datasets.SaveNPY(flat, []int{64}, truth))
	y := make([]float64, 16)
	for i := range y {
		y[i] = -float64(i)
	}
	must(t, datasets.SaveNPY(of, []int{4, 4}, y))

	p := build(t, linCfg, "truth.file="+tf, "problem.noise=0")
	if p.Truth[5] != 5 || p.Observation[1] != 2 {
		t.Errorf("truth.file: truth[5] = %v, y[1] = %v (want 5 and x[0, 2] = 2)", p.Truth[5], p.Observation[1])
	}
	p = build(t, linCfg, "observation.file="+of)
	if p.Observation[3] != -3 || p.NoiseSigma != 0 {
		t.Errorf("observation.file: y[3] = %v", p.Observation[3])
	}
	for _, sets := range [][]string{{"truth.file=" + flat}, {"observation.file=" + flat}, {"observation.file=" + tf}} {
		c, err := problem.Parse(linCfg, sets...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := problem.Build(context.Background(), c); !errors.Is(err, operator.ErrDim) {
			t.Errorf("%v: err = %v, want a shape error", sets, err)
		}
	}
	// A non-finite value names the file and the element.
	nan := append([]float64(nil), truth...)
	nan[9] = math.NaN()
	nf := filepath.Join(dir, "nan.npy")
	must(t, datasets.SaveNPY(nf, []int{8, 8}, nan))
	c, err := problem.Parse(linCfg, "truth.file="+nf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := problem.Build(context.Background(), c); err == nil || !strings.Contains(err.Error(), "truth: "+nf+": truth[9] = NaN") {
		t.Errorf("NaN in truth.file: err = %v, want it to name the file and truth[9]", err)
	}
	// Noise per truth: two truths from the same file with different seeds get different noise.
	a := build(t, linCfg, "truth.file="+tf, "truth.seed=1")
	b := build(t, linCfg, "truth.file="+tf, "truth.seed=2")
	if a.Observation[0] == b.Observation[0] {
		t.Error("the same noise for two truths")
	}
	// truth.source none needs an observation; with one, no error metrics.
	if _, err := problem.Parse(linCfg, "truth.source=none"); err != nil {
		t.Fatal(err)
	}
	c, _ = problem.Parse(linCfg, "truth.source=none")
	if _, err := problem.Build(context.Background(), c); err == nil {
		t.Error("truth.source none without observation.file accepted")
	}
	p = build(t, linCfg, "truth.source=none", "observation.file="+of)
	if p.Truth != nil {
		t.Error("truth.source none built a truth")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestConfigRules: integer settings reject floats, seeds their range; unknown keys fail.
func TestConfigRules(t *testing.T) {
	for _, c := range []struct {
		sets []string
		want string
	}{
		{[]string{"algorithm.enkg.members=16.0"}, "not an integer"},
		{[]string{"problem.size=8.5"}, "not an integer"},
		{[]string{"truth.seed=1e3"}, "not an integer"},
		{[]string{"truth.seed=-2"}, "≥ 0"},
		{[]string{"seed=18446744073709551615"}, "2⁶³"},
		{[]string{"seed=18446744073709551616"}, "out of range"},
		{[]string{"prior.bogus=1"}, "bogus"},
		// Type errors and unknown keys name the key, not a line of the merged YAML.
		{[]string{"problem.size=abc"}, `problem.size: problem: invalid configuration: "abc" is not an integer`},
		{[]string{"problem.noise=nan"}, `problem.noise: problem: invalid configuration: "nan" is not a number`},
		{[]string{"problem.sizee=3"}, "problem.sizee: problem: invalid configuration: unknown key (keys here: kind, size,"},
		{[]string{"problem.size="}, "problem.size: problem: invalid configuration: no value"},
		{[]string{"algorithm.enkg.scale="}, "algorithm.enkg.scale: problem: invalid configuration: no value"},
	} {
		if _, err := problem.Parse(linCfg, c.sets...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.sets, err, c.want)
		}
	}
	// Zero settings with a non-zero default are rejected, not silently used, by an error
	// that names the settings' section.
	for _, c := range []struct {
		sets    []string
		section string
	}{{[]string{"algorithm.name=eki", "algorithm.eki.scale=0"}, "algorithm.eki"}, {[]string{"algorithm.enkg.scale=0"}, "algorithm.enkg"},
		{[]string{"algorithm.enkg.steps=0"}, "algorithm.enkg"}, {[]string{"algorithm.enkg.sigma_max=0"}, "algorithm.enkg"},
		{[]string{"algorithm.name=dpg", "algorithm.dpg.members=0"}, "algorithm.dpg"}, {[]string{"algorithm.name=scg", "algorithm.scg.candidates=0"}, "algorithm.scg"}} {
		cfg, err := problem.Parse(linCfg, c.sets...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Method(); err == nil || !errors.Is(err, problem.ErrConfig) || !strings.Contains(err.Error(), "invalid configuration: "+c.section) {
			t.Errorf("%v: err = %v, want a configuration error naming %s", c.sets, err, c.section)
		}
	}
	c, _ := problem.Parse(linCfg, "prior.variance=0")
	if _, err := problem.Build(context.Background(), c); err == nil {
		t.Error("prior.variance 0 accepted")
	}
}

// TestHeldOutTruth: a simulated Navier–Stokes truth whose seed generated the prior's
// training set is refused; another seed is accepted, and the truth is vorticity.
func TestHeldOutTruth(t *testing.T) {
	ctx := context.Background()
	const n = 16
	fields := mat.NewDense(6, n*n, nil)
	for i := 0; i < 6; i++ {
		w, err := problem.SimulatedTruth(ctx, n, 200, 0.5, 7, i)
		if err != nil {
			t.Fatal(err)
		}
		fields.SetRow(i, w)
	}
	problem.RegisterReader(".fake", func(path string, max int) (*problem.Dataset, error) {
		return &problem.Dataset{Fields: fields, Nx: n, Ny: n, Seed: 7, HasSeed: true}, nil
	})
	cfg := `
problem: {kind: navier-stokes, size: 16, stride: 2, t: 0.1}
prior: {kind: fit, data: train.fake, fit: spectral}
truth: {source: simulated, spinup: 0.5}
algorithm: {name: enkg, enkg: {members: 8, steps: 4, updates: 1}}
`
	c, err := problem.Parse(cfg, "truth.seed=7")
	must(t, err)
	if _, err := problem.Build(ctx, c); err == nil || !strings.Contains(err.Error(), "training") {
		t.Errorf("truth seed = training seed: err = %v", err)
	}
	c, err = problem.Parse(cfg, "truth.seed=1000", "prior.train_seeds=[3, 1000]")
	must(t, err)
	if _, err := problem.Build(ctx, c); err == nil || !strings.Contains(err.Error(), "training") {
		t.Errorf("truth seed in prior.train_seeds: err = %v", err)
	}
	c, err = problem.Parse(cfg, "truth.seed=1000")
	must(t, err)
	p, err := problem.Build(ctx, c)
	must(t, err)
	var ss float64
	for _, v := range p.Truth {
		ss += v * v
	}
	if sd := math.Sqrt(ss / float64(n*n)); sd < 0.5 {
		t.Errorf("truth std %.3f: not vorticity units", sd)
	}
	if p.Prior.Norm.Scale != 10 {
		t.Errorf("prior normalisation %+v, want scale 10", p.Prior.Norm)
	}
	// The fitted prior's mean, in physical units, is the training mean.
	m, err := p.Prior.Mean(ctx)
	must(t, err)
	var tm float64
	for i := 0; i < 6; i++ {
		for _, v := range fields.RawRowView(i) {
			tm += v
		}
	}
	tm /= float64(6 * n * n)
	if math.Abs(m[0]-tm) > 1e-9*(1+math.Abs(tm)) {
		t.Errorf("prior mean %v, training mean %v", m[0], tm)
	}
}

// TestUNetPrior runs EnKG with a small SongUNet fixture as the prior of a 16² problem.
func TestUNetPrior(t *testing.T) {
	dir := filepath.Join("..", "diffusion", "unet", "testdata")
	w, c := filepath.Join(dir, "BCD_weights.npz"), filepath.Join(dir, "C_config.json")
	if _, err := os.Stat(w); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	cfg, err := problem.Parse(`
problem: {kind: linear-gaussian, size: 16, stride: 2, noise: 0.1}
prior: {kind: unet}
truth: {source: file}
algorithm: {name: enkg, enkg: {members: 4, steps: 4, updates: 1, max_ode_steps: 1}}
`, "prior.weights="+w, "prior.config="+c, "truth.file="+writeField(t, 16))
	must(t, err)
	p, err := problem.Build(ctx, cfg)
	must(t, err)
	m, err := cfg.Method()
	must(t, err)
	r, err := p.Run(ctx, m, guidance.Options{Workers: 2})
	must(t, err)
	if r.Counts.Denoiser == 0 || math.IsNaN(r.Metrics["rel_l2"]) {
		t.Errorf("counts %+v, metrics %v", r.Counts, r.Metrics)
	}
	// EKI samples the U-Net prior (EDM Heun sampler) for its initial ensemble, at the EnKG
	// budget; forward-GSG backpropagates through the network.
	for _, name := range []string{"eki", "forward-gsg"} {
		c2 := cfg
		c2.Algorithm.Name = name
		c2.Algorithm.Sch = problem.Schedule{Kind: "edm", Steps: 4, SigmaMax: 80, SigmaMin: 0.002, Rho: 7}
		c2.Algorithm.DPS = problem.DPS{Members: 2, Scale: 0.1, Queries: 4, BatchSize: 2, Mu: 0.01}
		m, err := c2.Method()
		must(t, err)
		r, err := p.Run(ctx, m, guidance.Options{Workers: 2})
		must(t, err)
		if name == "eki" && r.Counts.Forward != cfg.Budget() {
			t.Errorf("EKI spent %d, EnKG budget %d", r.Counts.Forward, cfg.Budget())
		}
		if v := r.Metrics["rel_l2"]; math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s: rel_l2 %v", name, v)
		}
	}
	// A U-Net carries its own normalisation: an explicit one is refused.
	cfg.Prior.Scale = 10
	if _, err := problem.Build(ctx, cfg); err == nil {
		t.Error("prior.scale with a unet accepted")
	}
}

func writeField(t *testing.T, n int) string {
	f := filepath.Join(t.TempDir(), "truth.npy")
	x := make([]float64, n*n)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	must(t, datasets.SaveNPY(f, []int{n, n}, x))
	return f
}

// TestBlackHoleUnits: the truth is in image units (peak 1), and the forward model composed
// with any prior normalisation gives the same data misfit for the same physical image.
func TestBlackHoleUnits(t *testing.T) {
	ctx := context.Background()
	cfg := `
problem: {kind: blackhole, size: 16, fov_uas: 160, thermal_noise: true}
prior: {kind: gaussian, variance: 1}
truth: {seed: 4}
algorithm: {name: enkg, enkg: {members: 8, steps: 4, updates: 1}}
`
	a := build(t, cfg)                                    // default normalisation (x + 1)/2
	b := build(t, cfg, "prior.scale=3", "prior.shift=-1") // another one
	mx := 0.0
	for _, v := range a.Truth {
		mx = math.Max(mx, v)
	}
	if mx != 1 || a.Prior.Norm.Scale != 0.5 || a.Prior.Norm.Shift != 0.5 {
		t.Errorf("truth peak %v, normalisation %+v", mx, a.Prior.Norm)
	}
	ma, err := a.DataMisfit(ctx, a.Truth)
	must(t, err)
	mb, err := b.DataMisfit(ctx, b.Truth)
	must(t, err)
	if math.Abs(ma-mb) > 1e-9*(1+ma) || !(ma > 0) {
		t.Errorf("misfit of the truth %v vs %v under two normalisations", ma, mb)
	}
}

// TestMemoryLimit: a solve larger than this machine's memory limit (here ENKG_MAX_MEMORY) is
// refused before anything is built, naming the size and the limit; below it, it builds.
func TestMemoryLimit(t *testing.T) {
	c, err := problem.Parse(linCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENKG_MAX_MEMORY", "16K") // the estimate is 6·J·n²·8 B = 48 KiB
	_, err = problem.Build(context.Background(), c)
	if !errors.Is(err, problem.ErrConfig) || !strings.Contains(err.Error(), "ENKG_MAX_MEMORY") || !strings.Contains(err.Error(), "problem.size") {
		t.Fatalf("err = %v, want a memory error naming problem.size and ENKG_MAX_MEMORY", err)
	}
	t.Setenv("ENKG_MAX_MEMORY", "1G")
	if _, err := problem.Build(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}
