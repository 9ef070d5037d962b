package demo

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/pde"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

// tinySettings is a 16² problem that runs in a few seconds.
func tinySettings() Settings {
	s := DefaultSettings()
	s.Res, s.Spinup, s.T, s.Train = 16, 1, 0.5, 12
	s.Members, s.Steps = 16, 6
	s.TruthSeed = 99
	return s
}

var (
	tinyOnce   sync.Once
	tinyFields *mat.Dense
	tinyErr    error
)

// trainingFields spins up s.Train GRF fields as `enkg data ns --seed 0` does.
func trainingFields(t *testing.T, s Settings) *mat.Dense {
	t.Helper()
	tinyOnce.Do(func() {
		n := s.Res
		g, err := spectral.NewGRF(n, n, spectral.GRFSettings{Alpha: 2.5, Tau: 7})
		if err != nil {
			tinyErr = err
			return
		}
		ps := s.SolverSettings()
		ens, err := pde.NewEnsemble(n, n, &ps, 0)
		if err != nil {
			tinyErr = err
			return
		}
		w := make([]float64, s.Train*n*n)
		for i := 0; i < s.Train; i++ {
			g.Sample(w[i*n*n:(i+1)*n*n], rng.Stream(0, i))
		}
		tinyErr = ens.Solve(context.Background(), w, w, s.Spinup)
		tinyFields = mat.NewDense(s.Train, n*n, w)
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyFields
}

func tinyProblem(t *testing.T) (Settings, *diffusion.SpectralGaussian, []float64, []float64) {
	t.Helper()
	s, err := tinySettings().Resolve()
	if err != nil {
		t.Fatal(err)
	}
	prior, err := FitPrior(trainingFields(t, s), s)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := Truth(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	y, err := Observe(context.Background(), truth, s)
	if err != nil {
		t.Fatal(err)
	}
	return s, prior, truth, y
}

func TestFitPriorNormalises(t *testing.T) {
	s, _ := tinySettings().Resolve()
	fields := trainingFields(t, s)
	p, err := FitPrior(fields, s)
	if err != nil {
		t.Fatal(err)
	}
	x := mat.DenseCopyOf(fields)
	x.Scale(0.1, x)
	want, err := diffusion.FitSpectralGaussian(s.Res, s.Res, x, diffusion.SpectralFitSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range want.Power() {
		if math.Abs(p.Power()[i]-v) > 1e-12*(1+v) {
			t.Fatalf("power[%d] = %v, want %v (fit to w/10)", i, p.Power()[i], v)
		}
	}
	// The mean is the average of w/10 over pixels and fields.
	var m float64
	for _, v := range fields.RawMatrix().Data {
		m += v / 10
	}
	m /= float64(len(fields.RawMatrix().Data))
	if math.Abs(p.Mean()[0]-m) > 1e-12 || p.Norm.Scale != 10 {
		t.Errorf("mean %v norm %+v, want %v and scale 10", p.Mean()[0], p.Norm, m)
	}
	// FieldMean: the mean of w/10 per pixel.
	s.FieldMean = true
	pf, err := FitPrior(fields, s)
	if err != nil {
		t.Fatal(err)
	}
	r, c := fields.Dims()
	for j := 0; j < c; j += 37 {
		var mj float64
		for i := 0; i < r; i++ {
			mj += fields.At(i, j) / 10
		}
		if mj /= float64(r); math.Abs(pf.Mean()[j]-mj) > 1e-12 {
			t.Fatalf("FieldMean: mean[%d] = %v, want %v", j, pf.Mean()[j], mj)
		}
	}
	if _, err := FitPrior(mat.NewDense(3, 10, nil), s); err == nil {
		t.Error("FitPrior accepted fields of the wrong size")
	}
}

func TestObserve(t *testing.T) {
	s, _ := tinySettings().Resolve()
	truth, err := Truth(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	s0 := s
	s0.Noise = 0
	y0, err := Observe(context.Background(), truth, s0)
	if err != nil {
		t.Fatal(err)
	}
	// Noise-free: the solve of the truth over T, every 2nd point.
	ps := s.SolverSettings()
	sol, _ := pde.NewSolver(s.Res, s.Res, &ps)
	wT := make([]float64, len(truth))
	if err := sol.Solve(context.Background(), wT, truth, s.T); err != nil {
		t.Fatal(err)
	}
	m := s.ObsSide()
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			if d := math.Abs(y0[i*m+j] - wT[2*i*s.Res+2*j]); d > 1e-9*(1+math.Abs(wT[2*i*s.Res+2*j])) {
				t.Fatalf("y[%d,%d] = %v, want w(T)[%d,%d] = %v", i, j, y0[i*m+j], 2*i, 2*j, wT[2*i*s.Res+2*j])
			}
		}
	}
	s.Noise = 0.5
	y, _ := Observe(context.Background(), truth, s)
	var ss float64
	for i := range y {
		ss += (y[i] - y0[i]) * (y[i] - y0[i])
	}
	if sd := math.Sqrt(ss / float64(len(y))); math.Abs(sd-0.5) > 0.1 {
		t.Errorf("noise std %v, want 0.5", sd)
	}
}

func TestRun(t *testing.T) {
	s, prior, truth, y := tinyProblem(t)
	s.Workers = 2
	rep, err := Run(context.Background(), s, prior, truth, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 3 || rep.Rows[0].Method != "EnKG" || rep.Rows[1].Method != "EKI" || rep.Rows[2].Method != "prior mean" {
		t.Fatalf("rows %+v", rep.Rows)
	}
	enkg, eki, pm := rep.Rows[0], rep.Rows[1], rep.Rows[2]
	// Equal forward budget: N = 6, start = end = 0.05 → guided steps 1…5, 2 updates, J = 16.
	if enkg.Forward != 5*2*16 || eki.Forward != enkg.Forward {
		t.Errorf("forward evaluations EnKG %d, EKI %d, want %d each", enkg.Forward, eki.Forward, 5*2*16)
	}
	if enkg.Denoiser == 0 || eki.Denoiser != 0 || pm.Forward != 0 {
		t.Errorf("denoiser evaluations EnKG %d, EKI %d", enkg.Denoiser, eki.Denoiser)
	}
	// Rows are in vorticity units: their rel. L2 recomputes from Mean and the truth.
	for _, row := range rep.Rows {
		rel, _ := guidance.RelL2(row.Mean, truth)
		if math.Abs(rel-row.RelL2) > 1e-12 {
			t.Errorf("%s: rel L2 %v from the saved mean, %v reported", row.Method, rel, row.RelL2)
		}
		if !(row.RelL2 > 0) || !(row.Misfit >= 0) {
			t.Errorf("%s: rel L2 %v misfit %v", row.Method, row.RelL2, row.Misfit)
		}
	}
	for i, v := range pm.Mean {
		if math.Abs(v-10*prior.Mean()[i]) > 1e-12 {
			t.Fatalf("prior mean[%d] = %v, want %v", i, v, 10*prior.Mean()[i])
		}
	}
	mean, std := guidance.MeanStd(enkg.Ensemble)
	for i := range mean {
		if math.Abs(mean[i]-enkg.Mean[i]) > 1e-9 || math.Abs(std[i]-enkg.Std[i]) > 1e-9 {
			t.Fatalf("EnKG mean/std[%d] = %v/%v, ensemble gives %v/%v", i, enkg.Mean[i], enkg.Std[i], mean[i], std[i])
		}
	}
	if len(enkg.Curve) != 5 || len(eki.Curve) != 10 || enkg.Curve[4][0] != float64(enkg.Forward) {
		t.Errorf("curves: EnKG %v, EKI %d points", enkg.Curve, len(eki.Curve))
	}
	// With the data, both methods fit the observation far better than the prior mean.
	if !(enkg.Misfit < pm.Misfit/4) || !(eki.Misfit < pm.Misfit/4) {
		t.Errorf("data misfit EnKG %v, EKI %v, prior mean %v", enkg.Misfit, eki.Misfit, pm.Misfit)
	}
	if !(enkg.RelL2 < pm.RelL2) {
		t.Errorf("EnKG rel. L2 %v is not below the prior mean's %v", enkg.RelL2, pm.RelL2)
	}
	t.Logf("rel. L2: EnKG %.4f, EKI %.4f, prior mean %.4f", enkg.RelL2, eki.RelL2, pm.RelL2)

	// Reproducible and independent of the number of workers.
	s.Workers = 1
	rep1, err := Run(context.Background(), s, prior, truth, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k := range rep.Rows {
		for i, v := range rep.Rows[k].Mean {
			if math.Float64bits(v) != math.Float64bits(rep1.Rows[k].Mean[i]) {
				t.Fatalf("%s mean differs between 2 workers and 1 worker at %d", rep.Rows[k].Method, i)
			}
		}
	}

	// Outputs.
	dir := t.TempDir()
	if err := rep.Write(dir, map[string]string{"dataset": "x.h5"}, map[string]float64{"solve": 1}, 2); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files() {
		if _, err := os.Stat(filepath.Join(dir, f.Name)); err != nil {
			t.Errorf("listed output %s: %v", f.Name, err)
		}
		if !strings.Contains(string(readme), f.Name) {
			t.Errorf("README.txt does not explain %s", f.Name)
		}
	}
	a, err := datasets.LoadNPY(filepath.Join(dir, "enkg_ensemble.npy"))
	if err != nil || len(a.Shape) != 3 || a.Shape[0] != 16 || a.Shape[1] != 16 || a.Shape[2] != 16 {
		t.Fatalf("enkg_ensemble.npy: %v %v", a, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
	var sum Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != 3 || sum.Results[0].RelL2 != enkg.RelL2 || sum.Settings.Members != 16 || sum.Files["truth.npy"] == "" {
		t.Errorf("summary.json %s", b)
	}
}

func TestSettings(t *testing.T) {
	s, err := Settings{}.Resolve()
	if err != nil || s.Res != 64 || s.Re != 200 || s.Members != 128 || s.Steps != 8 || s.Scale != 10 {
		t.Errorf("zero settings resolve to %+v (%v)", s, err)
	}
	for _, bad := range []Settings{{Res: 15}, {Stride: 100}, {Re: -1}, {Noise: -1}, {Noise: math.NaN()}, {Train: 1}, {Members: 1}, {Steps: 1}, {Scale: math.Inf(1)}} {
		if _, err := bad.Resolve(); !errors.Is(err, ErrSettings) {
			t.Errorf("%+v: error %v, want ErrSettings", bad, err)
		}
	}
	// Held out: TruthSeed 0 is the default 1000, and a truth seed equal to the training
	// set's is refused.
	if s, err := (Settings{}).Resolve(); err != nil || s.TruthSeed != 1000 {
		t.Errorf("TruthSeed 0 resolves to %d (%v), want the default 1000", s.TruthSeed, err)
	}
	if _, err := (Settings{TruthSeed: 5, DataSeed: 5}).Resolve(); !errors.Is(err, ErrSettings) {
		t.Errorf("TruthSeed = DataSeed accepted: %v", err)
	}
	if _, err := (Settings{DataSeed: 1000}).Resolve(); !errors.Is(err, ErrSettings) {
		t.Errorf("default TruthSeed = DataSeed 1000 accepted: %v", err)
	}
	s, prior, truth, y := tinyProblem(t)
	if _, err := Run(context.Background(), s, prior, truth[:10], y, nil); err == nil {
		t.Error("Run accepted a truth of the wrong length")
	}
}

// TestRunNeural: with a U-Net prior (a small SongUNet fixture on the 16² grid) Run adds
// "EnKG (neural)" first, at the same forward budget, in vorticity units.
func TestRunNeural(t *testing.T) {
	dir := filepath.Join("..", "diffusion", "unet", "testdata")
	s, prior, truth, y := tinyProblem(t)
	s.NeuralWeights, s.NeuralConfig = filepath.Join(dir, "BCD_weights.npz"), filepath.Join(dir, "C_config.json")
	if _, err := os.Stat(s.NeuralWeights); err != nil {
		t.Skip(err)
	}
	s.Workers = 2
	rep, err := Run(context.Background(), s, prior, truth, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 4 || rep.Rows[0].Method != "EnKG (neural)" || rep.Rows[1].Method != "EnKG" {
		t.Fatalf("rows %v", rep.Rows)
	}
	n, g := rep.Rows[0], rep.Rows[1]
	if n.Forward != g.Forward || n.Denoiser == 0 {
		t.Errorf("neural row: %d forward (Gaussian %d), %d denoiser", n.Forward, g.Forward, n.Denoiser)
	}
	if rel, _ := guidance.RelL2(n.Mean, truth); math.Abs(rel-n.RelL2) > 1e-12 {
		t.Errorf("neural rel L2 %v vs %v from its mean", n.RelL2, rel)
	}
	if err := rep.Write(t.TempDir(), nil, nil, 1); err != nil {
		t.Fatal(err)
	}
}

// The table's columns line up whatever the method names ("EnKG (neural)" is longer than the
// header's "method" column was).
func TestWriteTableAligned(t *testing.T) {
	r := &Report{Settings: Settings{Res: 64, Re: 200, T: 1, Stride: 2, Members: 128, Steps: 8, Updates: 2},
		Rows: []Row{{Method: "EnKG (neural)", RelL2: 0.7246}, {Method: "EnKG", RelL2: 0.9555}, {Method: "prior mean", RelL2: 1}}}
	var b strings.Builder
	r.WriteTable(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")[1:]
	end := strings.Index(lines[0], "rel. L2") + len("rel. L2")
	for _, l := range lines[1:] {
		if i := strings.Index(l, "."); i < 0 || i+5 != end {
			t.Errorf("rel. L2 column not aligned with the header (ends at %d):\n%s", end, b.String())
		}
	}
}
