package guidance

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/diffusion"
	"gonum.org/v1/gonum/mat"
)

func smallSchedule(n int) Schedule {
	return Schedule{Kind: "edm", Steps: n, SigmaMax: 80, SigmaMin: 0.002}
}

// TestScheduleMatchesInverseBench checks the discretisation against hand-computed values of
// InverseBench's Scheduler: EDM (σ(t) = t, final level σ_min, factor 2σ_iΔt) and VP.
func TestScheduleMatchesInverseBench(t *testing.T) {
	d, err := Schedule{Kind: "edm", Steps: 5, SigmaMax: 100, SigmaMin: 0.01, Rho: 7}.discretise()
	if err != nil {
		t.Fatal(err)
	}
	a, b := math.Pow(100, 1/7.0), math.Pow(0.01, 1/7.0)
	for i := 0; i < 5; i++ {
		want := math.Pow(a+float64(i)/4*(b-a), 7)
		if math.Abs(d.sigma[i]-want) > 1e-12*want || d.scale[i] != 1 || d.scaleFact[i] != 1 {
			t.Errorf("edm step %d: σ %v want %v, s %v, sf %v", i, d.sigma[i], want, d.scale[i], d.scaleFact[i])
		}
	}
	if d.sigma[5] != 0.01 || math.Abs(d.factor[4]-2*d.sigma[4]*(d.sigma[4]-0.01)) > 1e-15 || d.sigmaInit != 100 {
		t.Errorf("edm final σ %v, factor %v, init %v", d.sigma[5], d.factor[4], d.sigmaInit)
	}
	v, err := DefaultSchedule().discretise()
	if err != nil {
		t.Fatal(err)
	}
	// VP: t_0 = 1, σ(1) = √(e^{10.05} − 1) ≈ 152, σ_init = σ(1)·s(1) = σ/√(1+σ²); final σ = 0.01.
	s1 := math.Sqrt(math.Expm1(19.9/2 + 0.1))
	if math.Abs(v.sigma[0]-s1) > 1e-12*s1 || math.Abs(v.sigmaInit-s1/math.Sqrt(1+s1*s1)) > 1e-15 || math.Abs(v.sigma[1000]-0.01) > 1e-15 {
		t.Errorf("vp: σ_0 %v (want %v), init %v, final %v", v.sigma[0], s1, v.sigmaInit, v.sigma[1000])
	}
	// scaling_factor = 1 − s'/s·Δt with s'/s = −½(β_min + β_d t).
	t0, t1 := 1.0, 1+1.0/999*(1e-3-1)
	want := 1 + 0.5*(0.1+19.9*t0)*(t0-t1)
	if math.Abs(v.scaleFact[0]-want) > 1e-12 {
		t.Errorf("vp scaling factor %v, want %v", v.scaleFact[0], want)
	}
	if _, err := (Schedule{Kind: "ve", Steps: 10}).discretise(); err == nil {
		t.Error("unknown schedule kind accepted")
	}
}

// TestGSGConvergesToExactDPS: with the same seed, central-GSG differs from DPS with exact
// gradients only through the gradient estimate, whose error falls like 1/√S.
func TestGSGConvergesToExactDPS(t *testing.T) {
	lg := newLinGauss(16, 6, 1, 0.1, 3)
	run := func(g GradientEstimate, q int) *mat.Dense {
		s := DefaultDPSSettings()
		s.Members, s.Schedule, s.Scale, s.Gradient, s.Queries, s.BatchSize, s.Mu, s.Seed = 2, smallSchedule(30), 0.3, g, q, 1, 1e-4, 4
		m, err := NewDPS(s)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Solve(context.Background(), lg.p, m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if g != Exact {
			per := int64(q / 2 * 2) // central: 2 evaluations per direction
			if g == ForwardGSG {
				per = int64(q)
			}
			if want := int64(30*2) * (per + 1); res.Counts.Forward != want {
				t.Errorf("%v Q=%d: %d forward evaluations, want %d", g, q, res.Counts.Forward, want)
			}
		}
		return res.Ensemble
	}
	exact := run(Exact, 0)
	diff := func(a *mat.Dense) float64 { return relMaxDiff(a.RawMatrix().Data, exact.RawMatrix().Data) }
	for _, g := range []GradientEstimate{CentralGSG, ForwardGSG} {
		d1, d2 := diff(run(g, 64)), diff(run(g, 4096))
		t.Logf("%v: distance to exact DPS %.3g (Q = 64), %.3g (Q = 4096)", g, d1, d2)
		if !(d2 < d1/3) {
			t.Errorf("%v: Q = 64 → 4096 reduces the distance to DPS only from %.3g to %.3g", g, d1, d2)
		}
	}
}

// finalMisfit runs m and returns the data misfit of the ensemble mean.
func finalMisfit(t *testing.T, lg *linGauss, m Method) float64 {
	res, err := Solve(context.Background(), lg.p, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := DataMisfit(context.Background(), lg.a, lg.p.Misfit, res.Mean, lg.p.Observation)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDerivativeFreeBaselinesFitTheData: DPG and SCG reduce the data misfit well below
// unguided sampling (scale 0, one candidate).
func TestDerivativeFreeBaselinesFitTheData(t *testing.T) {
	lg := newLinGauss(16, 6, 1, 0.1, 5)
	dpg := func(scale float64) float64 {
		s := DefaultDPGSettings()
		s.Members, s.Schedule, s.Scale, s.MCSamples, s.BatchSize, s.Seed = 4, smallSchedule(60), scale, 200, 100, 1
		m, err := NewDPG(s)
		if err != nil {
			t.Fatal(err)
		}
		return finalMisfit(t, lg, m)
	}
	scg := func(k int) float64 {
		s := DefaultSCGSettings()
		s.Members, s.Schedule, s.Candidates, s.BatchSize, s.Seed = 4, smallSchedule(60), k, 1, 1
		m, err := NewSCG(s)
		if err != nil {
			t.Fatal(err)
		}
		return finalMisfit(t, lg, m)
	}
	u, g := dpg(0), dpg(2)
	t.Logf("DPG misfit: unguided %.3g, guided %.3g", u, g)
	if !(g < u/4) {
		t.Errorf("DPG misfit %.3g, unguided %.3g", g, u)
	}
	u, g = scg(1), scg(64)
	t.Logf("SCG misfit: K = 1 %.3g, K = 64 %.3g", u, g)
	if !(g < u/4) {
		t.Errorf("SCG misfit %.3g with 64 candidates, %.3g with 1", g, u)
	}
}

// TestMethodsCheckWhatTheyNeed: DPS on a black-box model and gradient methods on a denoiser
// without vector–Jacobian products fail at once, before any evaluation.
func TestMethodsCheckWhatTheyNeed(t *testing.T) {
	p, _ := nonlinearProblem(16, 1)
	s := DefaultDPSSettings()
	s.Gradient, s.Schedule = Exact, smallSchedule(10)
	m, _ := NewDPS(s)
	eng, err := NewLocal(p.Forward, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Solve(context.Background(), p, m, Options{Engine: eng})
	if err == nil || !strings.Contains(err.Error(), "operator.Adjointer") {
		t.Errorf("DPS on a non-linear black box: err = %v", err)
	}
	if c := eng.Counts(); c != (Counts{}) {
		t.Errorf("evaluations before the check failed: %+v", c)
	}
	plain, _ := diffusion.NewIsotropicGaussian(16, 0, 1)
	q := *p
	q.Prior = plain
	g, _ := NewDPG(DPGSettings{Members: 1, Schedule: smallSchedule(10), Scale: 1, MCSamples: 4, BatchSize: 2})
	if _, err := Solve(context.Background(), &q, g, Options{}); err == nil || !strings.Contains(err.Error(), "VJPDenoiser") {
		t.Errorf("DPG without denoiser VJP: err = %v", err)
	}
	// EKI without a sampler, SCG without a prior.
	q = *p
	q.Sampler, q.Prior = nil, nil
	e, _ := NewEKI(EKISettings{Members: 4, Iterations: 2, Scale: 1})
	if _, err := Solve(context.Background(), &q, e, Options{}); err == nil || !strings.Contains(err.Error(), "sampler") {
		t.Errorf("EKI without sampler: err = %v", err)
	}
	sc, _ := NewSCG(SCGSettings{Members: 1, Schedule: smallSchedule(10), Candidates: 4, BatchSize: 2})
	if _, err := Solve(context.Background(), &q, sc, Options{}); err == nil {
		t.Error("SCG without prior accepted")
	}
	// Impossible settings.
	for name, err := range map[string]error{
		"GSG no samples": func() error {
			s := DefaultDPSSettings()
			s.Queries = 100
			s.BatchSize = 512
			_, err := NewDPS(s)
			return err
		}(),
		"GSG μ = 0": func() error { s := DefaultDPSSettings(); s.Mu = 0; _, err := NewDPS(s); return err }(),
		"DPG K % B": func() error {
			s := DefaultDPGSettings()
			s.MCSamples = 10
			s.BatchSize = 3
			_, err := NewDPG(s)
			return err
		}(),
		"SCG thr 1": func() error { s := DefaultSCGSettings(); s.Threshold = 1; _, err := NewSCG(s); return err }(),
		"1 step":    func() error { s := DefaultSCGSettings(); s.Schedule.Steps = 1; _, err := NewSCG(s); return err }(),
	} {
		if err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// TestBaselinesIndependentOfWorkers: GSG, DPG and SCG draw every random number from a stream
// keyed by (member, step, draw), so 1 and 3 workers give identical chains.
func TestBaselinesIndependentOfWorkers(t *testing.T) {
	lg := newLinGauss(16, 6, 1, 0.1, 2)
	ds := DefaultDPSSettings()
	ds.Members, ds.Schedule, ds.Queries, ds.BatchSize = 3, smallSchedule(8), 16, 4
	gsg, _ := NewDPS(ds)
	dpg, _ := NewDPG(DPGSettings{Members: 3, Schedule: smallSchedule(8), Scale: 1, MCSamples: 16, BatchSize: 4, Beta: 0.1})
	scg, _ := NewSCG(SCGSettings{Members: 3, Schedule: smallSchedule(8), Candidates: 8, BatchSize: 8, Threshold: 0.25})
	for _, m := range []Method{gsg, dpg, scg} {
		r1, err := Solve(context.Background(), lg.p, m, Options{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		r3, err := Solve(context.Background(), lg.p, m, Options{Workers: 3})
		if err != nil {
			t.Fatal(err)
		}
		if !mat.Equal(r1.Ensemble, r3.Ensemble) || r1.Counts != r3.Counts {
			t.Errorf("%s: results depend on the number of workers", m.Name())
		}
		if errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
}

// TestAffineVJPMatchesDiagonalJacobian compares the generic Gaussian VJP with the diagonal
// Jacobian v/(v+σ²) of the diagonal Gaussian prior.
func TestAffineVJPMatchesDiagonalJacobian(t *testing.T) {
	g := newDiagGauss(10, 0.3, 2)
	a := NewAffineVJP(g.DiagGaussian)
	r := rand.New(rand.NewPCG(1, 2))
	x, v := randDense(r, 3, 10), randDense(r, 3, 10)
	want, got := mat.NewDense(3, 10, nil), mat.NewDense(3, 10, nil)
	_ = g.DenoiseVJP(context.Background(), want, x, v, 0.7)
	if err := a.DenoiseVJP(context.Background(), got, x, v, 0.7); err != nil {
		t.Fatal(err)
	}
	if !mat.EqualApprox(got, want, 1e-14) {
		t.Errorf("AffineVJP differs from the diagonal Jacobian")
	}
}
