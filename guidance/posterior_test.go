package guidance

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
	"gonum.org/v1/gonum/mat"
)

// gaussOracle is a linear-Gaussian problem y = A·x + η, η ~ N(0, σ²I), with a Gaussian
// prior N(μ, C) (dense C, small D) and its exact posterior
// mean μ + CAᵀ(ACAᵀ + σ²I)⁻¹(y − Aμ), covariance C − CAᵀ(ACAᵀ + σ²I)⁻¹AC.
type gaussOracle struct {
	p         *Problem
	truth     []float64
	mean, std []float64
	observed  []bool
}

func newGaussOracle(t *testing.T, prior diffusion.Denoiser, priorMean []float64, cov *mat.SymDense, sampler Sampler, a *operator.Matrix, noise float64, seed uint64) *gaussOracle {
	d := prior.Dim()
	truthM := mat.NewDense(1, d, nil)
	if err := sampler.Sample(context.Background(), truthM, rng.Sub(seed, "truth")); err != nil {
		t.Fatal(err)
	}
	truth := truthM.RawRowView(0)
	m := a.OutputDim()
	y := make([]float64, m)
	_ = a.Forward(context.Background(), y, truth)
	r := rng.New(rng.Sub(seed, "noise"))
	for i := range y {
		y[i] += noise * r.NormFloat64()
	}
	am := a.A()
	var cat mat.Dense // C·Aᵀ (D×M)
	cat.Mul(cov, am.T())
	var s mat.Dense // A·C·Aᵀ + σ²I
	s.Mul(am, &cat)
	for i := 0; i < m; i++ {
		s.Set(i, i, s.At(i, i)+noise*noise)
	}
	var sinv mat.Dense
	if err := sinv.Inverse(&s); err != nil {
		t.Fatal(err)
	}
	res := make([]float64, m)
	am0 := make([]float64, m)
	_ = a.Forward(context.Background(), am0, priorMean)
	for i := range res {
		res[i] = y[i] - am0[i]
	}
	var gain mat.Dense // CAᵀS⁻¹ (D×M)
	gain.Mul(&cat, &sinv)
	mu := mat.NewVecDense(d, nil)
	mu.MulVec(&gain, mat.NewVecDense(m, res))
	var k mat.Dense // CAᵀS⁻¹AC
	k.Mul(&gain, cat.T())
	o := &gaussOracle{truth: truth, mean: make([]float64, d), std: make([]float64, d), observed: make([]bool, d)}
	for i := 0; i < d; i++ {
		o.mean[i] = priorMean[i] + mu.AtVec(i)
		o.std[i] = math.Sqrt(cov.At(i, i) - k.At(i, i))
	}
	for i := 0; i < m; i++ {
		for j := 0; j < d; j++ {
			if am.At(i, j) != 0 {
				o.observed[j] = true
			}
		}
	}
	o.p = &Problem{Observation: y, Forward: matrixFactory(a), Misfit: operator.Gaussian{Sigma: noise}, Prior: prior}
	return o
}

// check compares an ensemble with the exact posterior: relative L2 distance of the means,
// median std ratios on observed and unobserved pixels, coverage of the truth by the central
// 90 % intervals.
func (o *gaussOracle) check(t *testing.T, res *Result) (rel, ratioObs, ratioUnobs, cov float64) {
	rel, _ = RelL2(res.Mean, o.mean)
	var ro, ru []float64
	for i, s := range res.Std {
		if o.observed[i] {
			ro = append(ro, s/o.std[i])
		} else {
			ru = append(ru, s/o.std[i])
		}
	}
	lo, hi, err := CredibleInterval(res.Ensemble, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	return rel, Median(ro), Median(ru), Coverage(lo, hi, o.truth)
}

// checkOracle runs the posterior sampler with the default settings (J = 512) on o and
// checks it against the exact posterior: mean within 0.12 relative L2 (an exact sampler
// scores about 0.09 from sampling noise alone), median per-pixel std ratios in [0.8, 1.25]
// on the observed and the unobserved pixels, coverage of the truth by the central 90 %
// intervals in [0.85, 0.95], and the forward evaluations J·(1 + moves).
func checkOracle(t *testing.T, o *gaussOracle) {
	s := DefaultPosteriorSettings()
	s.Seed = 1
	m, err := NewPosterior(s)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewLocal(o.p.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.RunPosterior(context.Background(), o.p, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	rel, ro, ru, c := o.check(t, r.Result)
	exact := 0.0
	for i, v := range o.truth {
		if math.Abs(v-o.mean[i]) <= 1.6448536269514722*o.std[i] {
			exact += 1 / float64(len(o.truth))
		}
	}
	t.Logf("the exact posterior's 90 %% intervals cover the truth at %.3f of the pixels", exact)
	t.Logf("%d stages, ESS min %.0f, acceptance %.2f; mean rel. L2 %.3f, std ratio observed %.3f, unobserved %.3f, 90%% coverage %.3f; %d forward, %d denoiser evaluations, %v",
		len(r.Stages), r.Metrics["ess_min"], r.Metrics["acceptance_mean"], rel, ro, ru, c, r.Counts.Forward, r.Counts.Denoiser, r.Wall.Round(time.Millisecond))
	if rel > 0.12 {
		t.Errorf("ensemble mean %.3f from the exact posterior mean (relative L2), want ≤ 0.12", rel)
	}
	for _, q := range []struct {
		what string
		v    float64
	}{{"observed", ro}, {"unobserved", ru}} {
		if q.v < 0.8 || q.v > 1.25 {
			t.Errorf("median std ratio to the exact posterior on %s pixels %.3f, want in [0.8, 1.25]", q.what, q.v)
		}
	}
	if c < 0.85 || c > 0.95 {
		t.Errorf("90%% intervals cover the truth at %.3f of the pixels, want in [0.85, 0.95]", c)
	}
	if want := int64(s.Members) * int64(1+r.Moves); r.Counts.Forward != want {
		t.Errorf("%d forward evaluations, want J·(1 + %d moves) = %d", r.Counts.Forward, r.Moves, want)
	}
}

// TestPosteriorWhiteGaussian: prior N(0, I) on 16², y = x[::2, ::2] + N(0, 0.1²).
// Measured: 35 stages, mean 0.079 relative L2, std ratios 1.00 (observed) and 1.02
// (unobserved: the 32-step Heun sampler's prior is 1 % too wide), coverage 0.91 (the exact
// posterior's: 0.90).
func TestPosteriorWhiteGaussian(t *testing.T) {
	n := 16
	g := newDiagGauss(n*n, 0, 1)
	cov := mat.NewSymDense(n*n, nil)
	for i := 0; i < n*n; i++ {
		cov.SetSym(i, i, 1)
	}
	checkOracle(t, newGaussOracle(t, g, make([]float64, n*n), cov, g, subsampleMatrix(n), 0.1, 1))
}

// TestPosteriorSpectralGaussian: the stationary prior of the Navier–Stokes GRF(2.5, 7) on
// 16² (pixel std 0.196), y = x[::2, ::2] + N(0, (0.0196)²). Measured: 36 stages, mean
// 0.046, std ratios 1.00 and 1.02 (the sampler's prior is 3 % too wide), coverage 0.92
// (the exact posterior's: 0.91).
func TestPosteriorSpectralGaussian(t *testing.T) {
	n := 16
	grf, err := spectral.NewGRF(n, n, spectral.DefaultGRFSettings())
	if err != nil {
		t.Fatal(err)
	}
	g, err := diffusion.NewSpectralGaussianFromGRF(grf)
	if err != nil {
		t.Fatal(err)
	}
	cov := g.Covariance()
	var avg float64
	for i := 0; i < n*n; i++ {
		avg += cov.At(i, i) / float64(n*n)
	}
	checkOracle(t, newGaussOracle(t, g, make([]float64, n*n), cov, g, subsampleMatrix(n), 0.1*math.Sqrt(avg), 2))
}

// gmmOracle is a two-component Gaussian mixture prior on an n×n grid, means ±c on the
// unobserved pixels and ±δ on the observed ones (y = x[::2, ::2] + N(0, σ²)), unit
// variances: the posterior is the mixture of the component posteriors with weights
// w_k ∝ π_k N(y; Aμ_k, (1 + σ²)I).
type gmmOracle struct {
	p      *Problem
	g      *diffusion.GMM
	weight [2]float64 // exact posterior weights
}

func newGMMOracle(t *testing.T, n int, c, delta, noise float64, seed uint64) *gmmOracle {
	d := n * n
	a := subsampleMatrix(n)
	obs := make([]bool, d)
	for i := 0; i < n; i += 2 {
		for j := 0; j < n; j += 2 {
			obs[i*n+j] = true
		}
	}
	means, vars := mat.NewDense(2, d, nil), mat.NewDense(2, d, nil)
	for k := 0; k < d; k++ {
		v := c
		if obs[k] {
			v = delta
		}
		means.Set(0, k, v)
		means.Set(1, k, -v)
		vars.Set(0, k, 1)
		vars.Set(1, k, 1)
	}
	g, err := diffusion.NewGMMDiag([]float64{0.5, 0.5}, means, vars)
	if err != nil {
		t.Fatal(err)
	}
	truth := mat.NewDense(1, d, nil)
	if err := g.Sample(context.Background(), truth, rng.Sub(seed, "truth")); err != nil {
		t.Fatal(err)
	}
	m := a.OutputDim()
	y := make([]float64, m)
	_ = a.Forward(context.Background(), y, truth.RawRowView(0))
	r := rng.New(rng.Sub(seed, "noise"))
	for i := range y {
		y[i] += noise * r.NormFloat64()
	}
	o := &gmmOracle{g: g}
	var lw [2]float64
	for k := 0; k < 2; k++ {
		am := make([]float64, m)
		_ = a.Forward(context.Background(), am, means.RawRowView(k))
		for i := range y {
			e := y[i] - am[i]
			lw[k] -= e * e / (2 * (1 + noise*noise))
		}
	}
	mx := math.Max(lw[0], lw[1])
	z := math.Exp(lw[0]-mx) + math.Exp(lw[1]-mx)
	o.weight = [2]float64{math.Exp(lw[0]-mx) / z, math.Exp(lw[1]-mx) / z}
	o.p = &Problem{Observation: y, Forward: matrixFactory(a), Misfit: operator.Gaussian{Sigma: noise}, Prior: g}
	return o
}

// mass returns the fraction of the members closest (by responsibility) to each component.
func (o *gmmOracle) mass(x *mat.Dense) [2]float64 {
	j, _ := x.Dims()
	var out [2]float64
	resp := make([]float64, 2)
	for i := 0; i < j; i++ {
		o.g.Responsibilities(resp, x.RawRowView(i))
		if resp[0] >= resp[1] {
			out[0] += 1 / float64(j)
		} else {
			out[1] += 1 / float64(j)
		}
	}
	return out
}

// TestPosteriorGaussianMixture: a two-component mixture on 8² (means ±3 on the 48
// unobserved pixels, ±0.1 on the 16 observed ones, unit variances), y = x[::2, ::2] +
// N(0, 0.1²), exact posterior weights 0.319 and 0.681. The sampler's mass on each component
// is within 0.05 of them (measured 0.348/0.652); EnKG (J = 512, N = 40, 2 updates) puts
// all its members on one.
func TestPosteriorGaussianMixture(t *testing.T) {
	o := newGMMOracle(t, 8, 3, 0.1, 0.1, 1)
	if o.weight[0] < 0.2 || o.weight[1] < 0.2 {
		t.Fatalf("exact weights %.3f: want both components substantial", o.weight)
	}
	s := DefaultPosteriorSettings()
	s.Seed = 1
	m, err := NewPosterior(s)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Solve(context.Background(), o.p, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := o.mass(res.Ensemble)
	t.Logf("posterior sampler: mass %.3f, exact %.3f; %d forward evaluations", got, o.weight, res.Counts.Forward)
	for k := range got {
		if math.Abs(got[k]-o.weight[k]) > 0.05 {
			t.Errorf("component %d: mass %.3f, exact posterior weight %.3f (want within 0.05)", k, got[k], o.weight[k])
		}
	}
	es := DefaultEnKGSettings()
	es.Members, es.Steps, es.Updates, es.Seed = 512, 40, 2, 1
	en, err := NewEnKG(es)
	if err != nil {
		t.Fatal(err)
	}
	er, err := Solve(context.Background(), o.p, en, Options{})
	if err != nil {
		t.Fatal(err)
	}
	em := o.mass(er.Ensemble)
	t.Logf("EnKG: mass %.3f; %d forward evaluations", em, er.Counts.Forward)
	if math.Max(em[0], em[1]) < 0.99 {
		t.Errorf("EnKG mass %.3f: expected it to collapse onto one component", em)
	}
}

// TestPosteriorMixtureStudy reports the error of the component masses over 3 mixture
// problems × 4 seeds (ENKG_LONG=1). Measured with the defaults: rms 0.025, largest 0.061
// (problem 3, seed 1; an exact sampler of J = 512 independent draws: about 0.02). With 18
// sampler steps it measured 0.016 and 0.033, with 32 steps and the unprojected centre 0.026
// and 0.061: the spread between such studies is of the order of the numbers.
func TestPosteriorMixtureStudy(t *testing.T) {
	if os.Getenv("ENKG_LONG") == "" {
		t.Skip("study; set ENKG_LONG=1")
	}
	var se, worst float64
	n := 0
	for _, os := range []uint64{1, 2, 3} {
		o := newGMMOracle(t, 8, 3, 0.1, 0.1, os)
		for seed := uint64(1); seed <= 4; seed++ {
			s := DefaultPosteriorSettings()
			s.Seed = seed
			m, _ := NewPosterior(s)
			res, err := Solve(context.Background(), o.p, m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			e := o.mass(res.Ensemble)[0] - o.weight[0]
			se, worst, n = se+e*e, math.Max(worst, math.Abs(e)), n+1
			t.Logf("problem %d seed %d: mass %.3f, exact %.3f", os, seed, o.mass(res.Ensemble)[0], o.weight[0])
		}
	}
	t.Logf("rms error %.3f, largest %.3f", math.Sqrt(se/float64(n)), worst)
}

func TestPosteriorWorkersReproducible(t *testing.T) {
	o := newGMMOracle(t, 4, 3, 0.1, 0.1, 1)
	s := DefaultPosteriorSettings()
	s.Members, s.Seed, s.Steps = 16, 3, 6
	m, _ := NewPosterior(s)
	var first *Result
	for _, w := range []int{1, 3} {
		res, err := Solve(context.Background(), o.p, m, Options{Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = res
			continue
		}
		if !mat.Equal(first.Ensemble, res.Ensemble) {
			t.Errorf("ensembles differ between 1 and %d workers", w)
		}
	}
}

func TestPosteriorSettingsErrors(t *testing.T) {
	for _, c := range []struct {
		set  func(*PosteriorSettings)
		want string
	}{
		{func(s *PosteriorSettings) { s.Members = 3 }, "ensemble size"},
		{func(s *PosteriorSettings) { s.ESSFraction = 1 }, "ESS fraction"},
		{func(s *PosteriorSettings) { s.Moves = 0 }, "moves per stage"},
		{func(s *PosteriorSettings) { s.FinalMoves = 0 }, "final moves"},
		{func(s *PosteriorSettings) { s.MaxMoves = 0 }, "max moves"},
		{func(s *PosteriorSettings) { s.Decorrelation = 1 }, "decorrelation"},
		{func(s *PosteriorSettings) { s.TargetAcceptance = 0 }, "target acceptance"},
		{func(s *PosteriorSettings) { s.InitialStep = 1.5 }, "initial step"},
		{func(s *PosteriorSettings) { s.Steps = 0 }, "sampler steps"},
		{func(s *PosteriorSettings) { s.MaxStages = 0 }, "max stages"},
		{func(s *PosteriorSettings) { s.SigmaMin = 0 }, "σ"},
	} {
		s := DefaultPosteriorSettings()
		c.set(&s)
		_, err := NewPosterior(s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one naming %q", err, c.want)
		}
	}
	if _, err := NewPosterior(PosteriorSettings{}); err == nil {
		t.Error("zero settings accepted")
	}
}

func TestPosteriorMaxStages(t *testing.T) {
	o := newGMMOracle(t, 4, 3, 0.1, 0.1, 1)
	s := DefaultPosteriorSettings()
	s.Members, s.Steps, s.MaxStages = 16, 4, 1
	m, _ := NewPosterior(s)
	res, err := Solve(context.Background(), o.p, m, Options{})
	if err == nil || !strings.Contains(err.Error(), "MaxStages") {
		t.Fatalf("error %v, want MaxStages", err)
	}
	if res == nil || res.Ensemble == nil {
		t.Error("no partial result")
	}
}

// nonlinearOp is G(x) = (x₁², x₂ + sin(2x₃), x₁·x₄, x₄) on R⁴: the first datum leaves the
// sign of x₁ undetermined, so the posterior is bimodal.
type nonlinearOp struct{}

func (nonlinearOp) InputDim() int  { return 4 }
func (nonlinearOp) OutputDim() int { return 4 }
func (nonlinearOp) Forward(_ context.Context, dst, x []float64) error {
	dst[0], dst[1], dst[2], dst[3] = x[0]*x[0], x[1]+math.Sin(2*x[2]), x[0]*x[3], x[3]
	return nil
}

// TestPosteriorNonlinear compares the sampler (J = 512, 64 sampler steps so that the
// sampler's prior is within 1 % of N(0, I)) with a brute-force importance-sampling
// reference (2·10⁶ prior draws, ESS 17 324) on a nonlinear, bimodal problem: per-coordinate
// means within 0.2 reference std, stds within [0.85, 1.15]× the reference, the mass of
// x₁ > 0 within 0.05. Measured over seeds 1–5: means within 0.02 to 0.18 std (the largest:
// x₂ with seed 5; the particles are correlated, J = 512 independent draws would give about
// 0.04), std ratios 0.93–1.07, masses 0.887–0.898 against 0.890; 61 000–65 000 forward
// evaluations (the stages at β ≥ 0.5 use all 50 moves). With at most 5 and 20 moves (no
// decorrelation target) x₃'s std came out 11–17 % low.
func TestPosteriorNonlinear(t *testing.T) {
	y := []float64{1.5, 0.3, 0.4, 0.5}
	mf := operator.Gaussian{Sigma: 0.3}
	// Reference: self-normalised importance sampling from the prior.
	r := rng.New(7)
	const n = 2_000_000
	var sw, sw2 float64
	var m1, m2 [4]float64
	var pos float64
	x, g := make([]float64, 4), make([]float64, 4)
	for i := 0; i < n; i++ {
		rng.Normal(x, r)
		_ = nonlinearOp{}.Forward(context.Background(), g, x)
		w := math.Exp(-mf.Loss(g, y))
		sw += w
		sw2 += w * w
		for k, v := range x {
			m1[k] += w * v
			m2[k] += w * v * v
		}
		if x[0] > 0 {
			pos += w
		}
	}
	var refMean, refStd [4]float64
	for k := range m1 {
		refMean[k] = m1[k] / sw
		refStd[k] = math.Sqrt(m2[k]/sw - refMean[k]*refMean[k])
	}
	refPos := pos / sw
	t.Logf("reference (ESS %.0f): mean %.3f std %.3f P(x₁ > 0) %.3f", sw*sw/sw2, refMean, refStd, refPos)
	g4 := newDiagGauss(4, 0, 1)
	p := &Problem{Observation: y, Forward: func() (operator.Operator, error) { return nonlinearOp{}, nil }, Misfit: mf, Prior: g4}
	s := DefaultPosteriorSettings()
	s.Seed, s.Steps = 1, 64
	meth, _ := NewPosterior(s)
	eng, _ := NewLocal(p.Forward, 0)
	pr, err := meth.RunPosterior(context.Background(), p, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range pr.Stages {
		t.Logf("%+v", st)
	}
	res := pr.Result
	var got float64
	for i := 0; i < s.Members; i++ {
		if res.Ensemble.At(i, 0) > 0 {
			got += 1 / float64(s.Members)
		}
	}
	t.Logf("sampler: mean %.3f std %.3f P(x₁ > 0) %.3f; %d forward evaluations", res.Mean, res.Std, got, res.Counts.Forward)
	for k := range refMean {
		if d := math.Abs(res.Mean[k] - refMean[k]); d > 0.2*refStd[k] {
			t.Errorf("x%d: mean %.3f, reference %.3f (std %.3f)", k+1, res.Mean[k], refMean[k], refStd[k])
		}
		if q := res.Std[k] / refStd[k]; q < 0.85 || q > 1.15 {
			t.Errorf("x%d: std %.3f, reference %.3f", k+1, res.Std[k], refStd[k])
		}
	}
	if math.Abs(got-refPos) > 0.05 {
		t.Errorf("mass of x₁ > 0: %.3f, reference %.3f", got, refPos)
	}
}

func TestPosteriorCancel(t *testing.T) {
	o := newGMMOracle(t, 4, 3, 0.1, 0.1, 1)
	s := DefaultPosteriorSettings()
	s.Members, s.Steps = 16, 4
	m, _ := NewPosterior(s)
	ctx, cancel := context.WithCancel(context.Background())
	rec := RecorderFunc(func(si StepInfo) error {
		if si.Step == 1 {
			cancel()
		}
		return nil
	})
	res, err := Solve(ctx, o.p, m, Options{Recorder: rec})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if res == nil || res.Ensemble == nil || res.Steps < 2 {
		t.Errorf("partial result %+v", res)
	}
	// Stopped while the initial latents are mapped to fields: no result (its rows would be
	// half-integrated ODE states, not fields).
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	res, err = Solve(ctx, o.p, m, Options{})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Errorf("cancelled before the prior samples: result %v, error %v; want none and context.Canceled", res, err)
	}
}

// TestPosteriorOracleStudy runs the linear-Gaussian oracles on 32² and at other noise
// levels (ENKG_LONG=1) and logs the same statistics as checkOracle (no assertions).
func TestPosteriorOracleStudy(t *testing.T) {
	if os.Getenv("ENKG_LONG") == "" {
		t.Skip("study; set ENKG_LONG=1")
	}
	for _, n := range []int{16, 32} {
		for _, rel := range []float64{0.03, 0.3} {
			g := newDiagGauss(n*n, 0, 1)
			cov := mat.NewSymDense(n*n, nil)
			for i := 0; i < n*n; i++ {
				cov.SetSym(i, i, 1)
			}
			t.Logf("white %d², noise %.2f prior std", n, rel)
			checkOracle(t, newGaussOracle(t, g, make([]float64, n*n), cov, g, subsampleMatrix(n), rel, 3))
			grf, _ := spectral.NewGRF(n, n, spectral.DefaultGRFSettings())
			sg, _ := diffusion.NewSpectralGaussianFromGRF(grf)
			sc := sg.Covariance()
			var avg float64
			for i := 0; i < n*n; i++ {
				avg += sc.At(i, i) / float64(n*n)
			}
			t.Logf("spectral %d², noise %.2f prior std", n, rel)
			checkOracle(t, newGaussOracle(t, sg, make([]float64, n*n), sc, sg, subsampleMatrix(n), rel*math.Sqrt(avg), 4))
		}
	}
}
