package guidance

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/diffusion/unet"
)

// unetProblem is a 16² linear problem (every second pixel observed, no noise) whose prior is
// a neural denoiser: the EDMPrecond + SongUNet reference network C of diffusion/unet
// (random weights, 16 channels, levels 16² and 8² with attention at 8²), a *unet.Model
// used as it is, so the gradient baselines backpropagate through the network
// (unet.Model.DenoiseVJP).
func unetProblem(t *testing.T) (*Problem, *unet.Model) {
	t.Helper()
	dir := filepath.Join("..", "diffusion", "unet", "testdata")
	m, err := unet.Load(filepath.Join(dir, "BCD_weights.npz"), filepath.Join(dir, "C_config.json"), unet.Settings{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	op := subsampleMatrix(16)
	truth := make([]float64, 256)
	for i := range truth {
		truth[i] = 0.5 * math.Sin(2*math.Pi*float64(i%16)/16) * math.Cos(2*math.Pi*float64(i/16)/16)
	}
	y := make([]float64, op.OutputDim())
	if err := op.Forward(context.Background(), y, truth); err != nil {
		t.Fatal(err)
	}
	return &Problem{Observation: y, Forward: matrixFactory(op), Prior: m}, m
}

// TestGradientBaselinesWithUNetPrior: DPS (exact adjoint), forward-GSG, central-GSG and DPG
// run end to end with a U-Net prior — its VJP is what they backpropagate — give finite
// ensembles, count one denoiser VJP per chain and step, do not depend on the number of
// workers, and the guidance acts (the result differs from scale 0 and DPS lowers the data
// misfit of unguided sampling).
func TestGradientBaselinesWithUNetPrior(t *testing.T) {
	p, m := unetProblem(t)
	var _ VJPDenoiser = m
	const steps, members = 8, 2
	sch := smallSchedule(steps)
	dps := func(g GradientEstimate, scale float64) Method {
		s := DefaultDPSSettings()
		s.Members, s.Schedule, s.Scale, s.Gradient, s.Queries, s.BatchSize, s.Mu, s.Seed = members, sch, scale, g, 8, 4, 1e-3, 3
		meth, err := NewDPS(s)
		if err != nil {
			t.Fatal(err)
		}
		return meth
	}
	dpg := func(scale float64) Method {
		s := DefaultDPGSettings()
		s.Members, s.Schedule, s.Scale, s.MCSamples, s.BatchSize, s.Seed = members, sch, scale, 20, 10, 3
		meth, err := NewDPG(s)
		if err != nil {
			t.Fatal(err)
		}
		return meth
	}
	op := subsampleMatrix(16)
	misfit := func(r *Result) float64 {
		v, err := DataMisfit(context.Background(), op, p.Misfit, r.Mean, p.Observation)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name     string
		run, off func() Method
	}{
		{"DPS", func() Method { return dps(Exact, 1) }, func() Method { return dps(Exact, 0) }},
		{"forward-GSG", func() Method { return dps(ForwardGSG, 1) }, func() Method { return dps(ForwardGSG, 0) }},
		{"central-GSG", func() Method { return dps(CentralGSG, 1) }, func() Method { return dps(CentralGSG, 0) }},
		{"DPG", func() Method { return dpg(0.5) }, func() Method { return dpg(0) }},
	} {
		res := map[int]*Result{}
		for _, w := range []int{1, 2} {
			r, err := Solve(context.Background(), p, c.run(), Options{Workers: w})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			res[w] = r
		}
		r := res[2]
		for k, v := range r.Ensemble.RawMatrix().Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: ensemble value %d is %v", c.name, k, v)
			}
		}
		if r.Counts.DenoiserVJP != steps*members || r.Counts.Denoiser < steps*members {
			t.Errorf("%s: counts %+v, want %d denoiser VJPs", c.name, r.Counts, steps*members)
		}
		if !mat.Equal(res[1].Ensemble, r.Ensemble) {
			t.Errorf("%s: 1 and 2 workers differ by %.3g (relative)", c.name, relMaxDiff(res[1].Ensemble.RawMatrix().Data, r.Ensemble.RawMatrix().Data))
		}
		u, err := Solve(context.Background(), p, c.off(), Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		d := relMaxDiff(r.Ensemble.RawMatrix().Data, u.Ensemble.RawMatrix().Data)
		mg, mu := misfit(r), misfit(u)
		t.Logf("%s: misfit of the mean %.4g guided, %.4g unguided; ensembles differ by %.3g (relative)", c.name, mg, mu, d)
		if !(d > 1e-3) {
			t.Errorf("%s: guidance changed the ensemble by only %.3g", c.name, d)
		}
		if c.name == "DPS" && !(mg < mu) {
			t.Errorf("DPS: misfit %.4g with guidance, %.4g without", mg, mu)
		}
	}
}
