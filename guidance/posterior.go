package guidance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// PosteriorSettings are the parameters of the derivative-free posterior sampler (Posterior;
// see the package documentation, "Posterior sampling"). The zero value is not usable: a
// zero setting whose default is not zero is rejected, never replaced; start from
// DefaultPosteriorSettings.
type PosteriorSettings struct {
	// Members is the number of particles J; at least 4. Default 512.
	Members int
	// ESSFraction f sets the tempering: each next inverse temperature β is the largest one
	// (found by bisection) at which the effective sample size of the incremental weights is
	// at least f·J. In (0, 1). Default 0.5.
	ESSFraction float64
	// Moves is the least number of Metropolis–Hastings moves of every particle after each
	// resampling; at least 1. Default 5. The moves go on, up to MaxMoves, until the mean
	// over particles of the product of ρ = √(1 − s²) over their accepted moves (the
	// correlation of a particle with its resampled ancestor, for a Gaussian target) is at
	// most Decorrelation.
	Moves int
	// FinalMoves is the least number of moves at β = 1, after the last resampling (they
	// relax the final ensemble, whose duplicates would otherwise share their values); at
	// least 1. Default 20.
	FinalMoves int
	// MaxMoves bounds the moves of a stage (Moves or FinalMoves if larger). Default 50.
	MaxMoves int
	// Decorrelation is the residual correlation the moves of a stage aim at, in [0, 1)
	// (0: always MaxMoves moves). Default 0.1.
	Decorrelation float64
	// TargetAcceptance is the acceptance rate the step size s of the moves is adapted to
	// (after every move, s ← s·exp(rate − target), s ≤ 1). In (0, 1). Default 0.3.
	TargetAcceptance float64
	// InitialStep is the step size s = √(1 − ρ²) of the first move. In (0, 1]. Default 0.5.
	InitialStep float64
	// Steps N, SigmaMax, SigmaMin and Rho define the deterministic sampler that maps a
	// latent z ~ N(0, I) to a prior sample x = T(z): EDM's Heun probability-flow ODE
	// (2N − 1 denoiser evaluations per particle) on the Karras schedule from σ_max (clamped
	// to the prior's range if it declares one, diffusion.SigmaRanger) to 0. The ensemble
	// samples the posterior of T's prior, whose std is 1–3 % too wide on the Gaussian
	// oracles with N = 32 (4–7 % with EDM's 18). Few steps distort T's prior much more with a
	// neural denoiser: with priors/ns64 (4 samples, σ_max 80) the samples' std is 2.6× the
	// data's at N = 4, 1.15× at N = 8 and within 5 % from N = 16. Defaults 32, 80, 0.002, 7.
	Steps                   int
	SigmaMax, SigmaMin, Rho float64
	// MaxStages bounds the number of tempering stages (a run that needs more is an error).
	// At least 1. Default 200.
	MaxStages int
	// Seed selects every random draw: the initial latents (member j: rng.Stream(Seed, j)),
	// the resampling of each stage and the proposals and acceptances of each move (streams
	// keyed by seed, stage, move and member), so the result does not depend on the number
	// of workers.
	Seed uint64
}

// DefaultPosteriorSettings returns the documented defaults.
func DefaultPosteriorSettings() PosteriorSettings {
	return PosteriorSettings{Members: 512, ESSFraction: 0.5, Moves: 5, FinalMoves: 20, MaxMoves: 50, Decorrelation: 0.1, TargetAcceptance: 0.3, InitialStep: 0.5,
		Steps: 32, SigmaMax: 80, SigmaMin: 0.002, Rho: 7, MaxStages: 200}
}

// Validate returns an error describing the first impossible setting.
func (s PosteriorSettings) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("guidance: posterior: "+f, a...) }
	in01 := func(v float64) bool { return v > 0 && v < 1 }
	switch {
	case s.Members < 4:
		return bad("ensemble size J = %d: need at least 4 members (each half of the ensemble preconditions the other's moves)", s.Members)
	case !in01(s.ESSFraction):
		return bad("ESS fraction %v must lie in (0, 1) (default 0.5)", s.ESSFraction)
	case s.Moves < 1:
		return bad("%d moves per stage: need at least 1 (default 5)", s.Moves)
	case s.FinalMoves < 1:
		return bad("%d final moves: need at least 1 (default 20)", s.FinalMoves)
	case s.MaxMoves < 1:
		return bad("%d max moves per stage: need at least 1 (default 50)", s.MaxMoves)
	case !(s.Decorrelation >= 0 && s.Decorrelation < 1):
		return bad("decorrelation %v must lie in [0, 1) (default 0.1)", s.Decorrelation)
	case !in01(s.TargetAcceptance):
		return bad("target acceptance %v must lie in (0, 1) (default 0.3)", s.TargetAcceptance)
	case !(s.InitialStep > 0 && s.InitialStep <= 1):
		return bad("initial step %v must lie in (0, 1] (default 0.5)", s.InitialStep)
	case s.Steps < 1:
		return bad("%d sampler steps: need at least 1 (default 32)", s.Steps)
	case s.MaxStages < 1:
		return bad("max stages %d: need at least 1 (default 200)", s.MaxStages)
	}
	if err := checkSchedule(s.SigmaMin, s.SigmaMax, s.Rho); err != nil {
		return bad("%v", err)
	}
	return nil
}

// PosteriorStage are the diagnostics of one tempering stage.
type PosteriorStage struct {
	// Beta is the inverse temperature reached by the stage (1: the posterior).
	Beta float64 `json:"beta"`
	// ESS is the effective sample size (Σw)²/Σw² of the stage's incremental weights, in
	// members (≈ ESSFraction·J except on the last stage).
	ESS float64 `json:"ess"`
	// Acceptance is the mean acceptance rate of the stage's moves.
	Acceptance float64 `json:"acceptance"`
	// Step is the step size s = √(1 − ρ²) after the stage's moves.
	Step float64 `json:"step"`
	// Unique is the number of distinct particles after resampling (before the moves).
	Unique int `json:"unique"`
	// Moves is the number of moves the stage made, Correlation the mean over particles of
	// the product of ρ = √(1 − s²) over their accepted moves (the correlation of a Gaussian
	// particle with its resampled ancestor) when they stopped.
	Moves       int     `json:"moves"`
	Correlation float64 `json:"correlation"`
}

// PosteriorResult is a Result with the sampler's per-stage diagnostics.
type PosteriorResult struct {
	*Result
	Stages []PosteriorStage
	// Moves is the number of moves of all stages: the run made J·(1 + Moves) forward
	// evaluations.
	Moves int
	// LogEvidence is the SMC estimate of log ∫ exp(−Loss(G(x), y)) p̃(x) dx, p̃ the
	// sampler's prior (the log marginal likelihood up to the misfit's normalising constant).
	LogEvidence float64
}

// Posterior is the derivative-free posterior sampler: sequential Monte Carlo with
// adaptive likelihood tempering in the latent space of the diffusion prior's deterministic
// sampler, with Metropolis–Hastings moves whose proposals are Crank–Nicolson steps about
// the other half of the ensemble's mean, preconditioned by a Gauss–Newton covariance from
// the least-squares linearisation of every evaluation so far. It uses only forward
// evaluations of G and of the denoiser. See the package documentation ("Posterior
// sampling") for the derivation. Cancelling the context returns the current (partial)
// ensemble with ctx.Err() — no result while the initial prior samples are being drawn;
// Posterior is not Resumable.
type Posterior struct{ s PosteriorSettings }

// NewPosterior validates s and returns the method.
func NewPosterior(s PosteriorSettings) (*Posterior, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &Posterior{s: s}, nil
}

// Name returns "posterior".
func (*Posterior) Name() string { return "posterior" }

// Needs returns a diffusion prior (no gradients of G or of the denoiser).
func (*Posterior) Needs() Needs { return Needs{Prior: true} }

// Ensemble returns J.
func (m *Posterior) Ensemble() int { return m.s.Members }

// Settings returns the settings.
func (m *Posterior) Settings() PosteriorSettings { return m.s }

// Run samples the posterior and returns the final (equally weighted) ensemble. Its Metrics
// hold the sampler's summary: stages, moves (in all stages), ess_min (the smallest stage
// ESS, in members), acceptance_mean, acceptance_min (over stages), log_evidence. Progress
// is reported to rec
// once per stage (StepInfo.Steps is 0: the number of stages is not known in advance;
// StepInfo.Beta, ESS and Acceptance are set).
func (m *Posterior) Run(ctx context.Context, p *Problem, eng Engine, rec Recorder) (*Result, error) {
	r, err := m.RunPosterior(ctx, p, eng, rec)
	if r == nil {
		return nil, err
	}
	return r.Result, err
}

// posteriorState is the workspace of a run.
type posteriorState struct {
	z, x, y    *mat.Dense // particles: latents, fields, predictions
	zp, xp, yp *mat.Dense // proposals
	phi, phip  []float64  // misfits Loss(G(x), y_obs)
	corr       []float64  // per particle: the product of ρ over its accepted moves since resampling
	tmp        *mat.Dense // J×D scratch (resampling, centred latents)
	tmpy       *mat.Dense // J×M scratch
	gA, gB     *gnGauss   // proposals of the first and the second half of the particles
	lin        *linStats
	hj         *mat.Dense // Ĥ of the stage (M×D)
	beta       float64    // β of the stage
	sampler    diffusion.Sampler
	sigma0     float64
	prior      diffusion.Denoiser
}

// RunPosterior is Run with the per-stage diagnostics.
func (m *Posterior) RunPosterior(ctx context.Context, p *Problem, eng Engine, rec Recorder) (*PosteriorResult, error) {
	if err := Check(p, m, eng); err != nil {
		return nil, err
	}
	if rec == nil {
		rec = NopRecorder{}
	}
	s := m.s
	j, d, om := s.Members, eng.InputDim(), eng.OutputDim()
	// The regression's D×D moments and their Cholesky factor, ~12 J×D ensembles (sampler
	// workspace included), the J×M predictions.
	if err := memlimit.Check(fmt.Sprintf("guidance: posterior with D = %d, J = %d", d, j),
		8*(3*float64(d)*float64(d)+12*float64(j)*float64(d)+4*float64(j)*float64(om)+float64(om)*float64(d))); err != nil {
		return nil, err
	}
	ses := newSession(eng, nil)
	smin, smax := s.SigmaMin, s.SigmaMax
	if sr, ok := p.Prior.(diffusion.SigmaRanger); ok {
		lo, hi := sr.SigmaRange()
		smin, smax = math.Max(smin, lo), math.Min(smax, hi)
		if !(smin < smax) {
			return nil, fmt.Errorf("guidance: posterior: σ range [%g, %g] of the settings and the prior's [%g, %g] do not overlap", s.SigmaMin, s.SigmaMax, lo, hi)
		}
	}
	st := &posteriorState{
		z: mat.NewDense(j, d, nil), x: mat.NewDense(j, d, nil), y: mat.NewDense(j, om, nil),
		zp: mat.NewDense(j, d, nil), xp: mat.NewDense(j, d, nil), yp: mat.NewDense(j, om, nil),
		phi: make([]float64, j), phip: make([]float64, j), corr: make([]float64, j),
		tmp: mat.NewDense(j, d, nil), tmpy: mat.NewDense(j, om, nil),
		gA: &gnGauss{d: d, mean: make([]float64, d)}, gB: &gnGauss{d: d, mean: make([]float64, d)}, lin: newLinStats(d, om),
		sampler: m.newSampler(smin, smax, eng.Workers()),
		sigma0:  smax,
		prior:   engineDenoiser{eng: eng, d: p.Prior},
	}
	out := &PosteriorResult{}
	ready := false // the particles are fields (after the initial prior samples)
	finish := func(stages int, err error) (*PosteriorResult, error) {
		if !ready {
			// Stopped while mapping the initial latents: the rows are half-integrated
			// ODE states, not fields — no partial result.
			return nil, err
		}
		out.Result = newResult(m.Name(), st.x, ses.counts(), stages, ses.elapsed())
		m.summarise(out)
		return out, err
	}
	fail := func(stage int, what string, err error) (*PosteriorResult, error) {
		if ctx.Err() != nil {
			return finish(stage, ctx.Err())
		}
		return finish(stage, fmt.Errorf("guidance: posterior stage %d: %s: %w", stage, what, atStep(err, stage)))
	}
	// Initial particles: z_j ~ N(0, I), x_j = T(z_j), prior samples of the sampler.
	if err := parallel.For(ctx, j, eng.Workers(), func(_, i int) error {
		rng.Normal(st.z.RawRowView(i), rng.Stream(s.Seed, i))
		return nil
	}); err != nil {
		return finish(0, err)
	}
	if err := m.evaluate(ctx, p, eng, st, st.x, st.y, st.phi, st.z); err != nil {
		return fail(0, "initial prior samples", err)
	}
	ready = true
	st.lin.add(st.z, st.y)
	logw := make([]float64, j)
	idx := make([]int, j)
	beta := 0.0
	step := s.InitialStep
	for stage := 0; beta < 1; stage++ {
		if stage == s.MaxStages {
			return finish(stage, fmt.Errorf("guidance: posterior: β = %.3g after %d stages (MaxStages): the data are too informative for this ensemble, or the misfit is mis-scaled", beta, stage))
		}
		next, ess, logz := nextTemperature(st.phi, beta, s.ESSFraction, logw)
		out.LogEvidence += logz
		beta = next
		// Resample (systematic, along the particles' order on the leading principal axis of
		// the fields) and copy the chosen particles.
		orderedSystematic(idx, logw, st.x, rng.New(rng.Sub(s.Seed, fmt.Sprintf("posterior resample %d", stage))))
		unique := gather(st.z, st.tmp, idx)
		gather(st.x, st.tmp, idx)
		gather(st.y, st.tmpy, idx)
		phi := append([]float64(nil), st.phi...)
		for i, k := range idx {
			st.phi[i] = phi[k]
		}
		// Moves.
		if err := m.preconditioner(p, st, beta); err != nil {
			return finish(stage, fmt.Errorf("guidance: posterior stage %d: proposal covariance: %w", stage, err))
		}
		var accSum float64
		minMoves := s.Moves
		if beta == 1 {
			minMoves = s.FinalMoves
		}
		for k := range st.corr {
			st.corr[k] = 1
		}
		moves, resid := 0, 1.0
		for moves < minMoves || (resid > s.Decorrelation && moves < max(minMoves, s.MaxMoves)) {
			rate, err := m.move(ctx, p, eng, st, beta, step, stage, moves)
			if err != nil {
				return fail(stage, fmt.Sprintf("move %d", moves), err)
			}
			moves++
			accSum += rate
			step = math.Min(1, step*math.Exp(rate-s.TargetAcceptance))
			resid = 0
			for _, c := range st.corr {
				resid += c / float64(j)
			}
		}
		out.Moves += moves
		ps := PosteriorStage{Beta: beta, ESS: ess, Acceptance: accSum / float64(moves), Step: step, Unique: unique,
			Moves: moves, Correlation: resid}
		out.Stages = append(out.Stages, ps)
		info := StepInfo{Method: m.Name(), Step: stage, Guided: true, Beta: beta, ESS: ess, Acceptance: ps.Acceptance,
			StepSize: step, Spread: spread(st.x, make([]float64, d)), Counts: ses.counts()}
		info.MisfitMean, info.MisfitMax = meanMax(st.phi)
		if err := rec.Record(info); err != nil {
			return finish(stage+1, fmt.Errorf("guidance: posterior: recorder: %w", err))
		}
	}
	return finish(len(out.Stages), nil)
}

// newSampler returns the deterministic sampler T.
func (m *Posterior) newSampler(smin, smax float64, workers int) diffusion.Sampler {
	return diffusion.Sampler{Formulation: diffusion.EDM{SigmaMin: smin, SigmaMax: smax, Rho: m.s.Rho}, Steps: m.s.Steps,
		Solver: diffusion.Heun, Workers: workers}
}

// summarise fills the scalar diagnostics of r into its Metrics.
func (m *Posterior) summarise(r *PosteriorResult) {
	if r.Metrics == nil {
		r.Metrics = map[string]float64{}
	}
	r.Metrics["stages"] = float64(len(r.Stages))
	if len(r.Stages) == 0 {
		return
	}
	essMin, accMin, accSum := math.Inf(1), math.Inf(1), 0.0
	for _, st := range r.Stages {
		essMin, accMin, accSum = math.Min(essMin, st.ESS), math.Min(accMin, st.Acceptance), accSum+st.Acceptance
	}
	r.Metrics["ess_min"] = essMin
	r.Metrics["acceptance_mean"] = accSum / float64(len(r.Stages))
	r.Metrics["acceptance_min"] = accMin
	r.Metrics["log_evidence"] = r.LogEvidence
	r.Metrics["moves"] = float64(r.Moves)
}

func meanMax(a []float64) (mean, max float64) {
	max = math.Inf(-1)
	for _, v := range a {
		mean += v
		max = math.Max(max, v)
	}
	return mean / float64(len(a)), max
}

// evaluate maps latents z to fields x = T(z), predictions y = G(x) and misfits phi.
func (m *Posterior) evaluate(ctx context.Context, p *Problem, eng Engine, st *posteriorState, x, y *mat.Dense, phi []float64, z *mat.Dense) error {
	x.Scale(st.sigma0, z)
	if err := st.sampler.Integrate(ctx, x, st.prior, 0); err != nil {
		return fmt.Errorf("prior sampler: %w", err)
	}
	if err := eng.Forward(ctx, y, x); err != nil {
		return err
	}
	mf := p.misfit()
	r, _ := y.Dims()
	for i := 0; i < r; i++ {
		phi[i] = mf.Loss(y.RawRowView(i), p.Observation)
		if math.IsNaN(phi[i]) || math.IsInf(phi[i], 0) {
			return &MemberError{Step: -1, Member: i, What: "misfit", Err: fmt.Errorf("value %v", phi[i])}
		}
	}
	return nil
}

// move performs one Metropolis–Hastings move of every particle at inverse temperature β
// with step s and returns the acceptance rate. The particles are split into two halves
// (rows [0, J/2) and [J/2, J)); each half is moved about the mean of the other half, so that
// no particle's proposal depends on the particle itself.
func (m *Posterior) move(ctx context.Context, p *Problem, eng Engine, st *posteriorState, beta, s float64, stage, mv int) (float64, error) {
	j, d := st.z.Dims()
	h := j / 2
	seed := rng.Sub(m.s.Seed, fmt.Sprintf("posterior move %d/%d", stage, mv))
	m.center(st.gA, st.z.Slice(h, j, 0, d).(*mat.Dense)) // moves the first half
	m.center(st.gB, st.z.Slice(0, h, 0, d).(*mat.Dense)) // moves the second half
	halves := []struct {
		lo, hi int
		g      *gnGauss
	}{{0, h, st.gA}, {h, j, st.gB}}
	// Proposal z' = m̂ + ρ(z − m̂) + s·Σ̂^{1/2}ξ, ρ = √(1 − s²).
	rho := math.Sqrt(1 - s*s)
	u := make([]float64, j)
	for _, hv := range halves {
		zv, zpv := st.z.Slice(hv.lo, hv.hi, 0, d).(*mat.Dense), st.zp.Slice(hv.lo, hv.hi, 0, d).(*mat.Dense)
		if err := hv.g.propose(ctx, eng.Workers(), zpv, zv, rho, s, seed, hv.lo, u[hv.lo:hv.hi]); err != nil {
			return 0, err
		}
	}
	if err := m.evaluate(ctx, p, eng, st, st.xp, st.yp, st.phip, st.zp); err != nil {
		return 0, err
	}
	st.lin.add(st.zp, st.yp)
	qz, qzp := make([]float64, j), make([]float64, j)
	for _, hv := range halves {
		hv.g.quad(qz[hv.lo:hv.hi], st.z.Slice(hv.lo, hv.hi, 0, d).(*mat.Dense))
		hv.g.quad(qzp[hv.lo:hv.hi], st.zp.Slice(hv.lo, hv.hi, 0, d).(*mat.Dense))
	}
	acc := 0
	for i := 0; i < j; i++ {
		// log α = −β(φ' − φ) − ½(|z'|² − |z|²) + log g(z) − log g(z'),  g = N(m̂, Σ̂).
		z, zp := st.z.RawRowView(i), st.zp.RawRowView(i)
		la := -beta*(st.phip[i]-st.phi[i]) - 0.5*(dot(zp, zp)-dot(z, z)) - 0.5*(qz[i]-qzp[i])
		if math.Log(u[i]) < la {
			acc++
			st.corr[i] *= rho
			copy(z, zp)
			copy(st.x.RawRowView(i), st.xp.RawRowView(i))
			copy(st.y.RawRowView(i), st.yp.RawRowView(i))
			st.phi[i] = st.phip[i]
		}
	}
	return float64(acc) / float64(j), nil
}

// center sets g.mean to the projection V·Vᵀz̄ of the mean z̄ of the latents z on the
// directions the data constrain (the span of the Gauss–Newton Hessian ĤᵀWĤ), and to the
// prior mean 0 in the others, where z̄ would only add its sampling noise (of squared norm
// about D/n for n latents) to every proposal.
func (m *Posterior) center(g *gnGauss, z *mat.Dense) {
	zbar := make([]float64, g.d)
	colMean(zbar, z)
	for k := range g.mean {
		g.mean[k] = 0
	}
	if g.v == nil {
		return
	}
	var c, pr mat.VecDense
	c.MulVec(g.v.T(), mat.NewVecDense(g.d, zbar))
	pr.MulVec(g.v, &c)
	for k := range g.mean {
		g.mean[k] = pr.AtVec(k)
	}
}

// preconditioner sets the proposal covariance of a stage at inverse temperature β from
// the linearisation of all pairs evaluated so far and the misfit Hessian at the mean
// prediction.
func (m *Posterior) preconditioner(p *Problem, st *posteriorState, beta float64) error {
	hj, err := st.lin.jacobian()
	if err != nil {
		return err
	}
	st.hj, st.beta = hj, beta
	_, om := st.y.Dims()
	ybar := make([]float64, om)
	colMean(ybar, st.y)
	r, err := misfitHessian(p.misfit(), ybar, p.Observation)
	if err != nil {
		return err
	}
	var b mat.Dense
	b.Mul(r, hj)
	b.Scale(math.Sqrt(beta), &b)
	if err := st.gA.set(&b); err != nil {
		return err
	}
	st.gB.v, st.gB.lam = st.gA.v, st.gA.lam
	return nil
}

// colMean writes the column means of a into dst.
func colMean(dst []float64, a *mat.Dense) {
	r, _ := a.Dims()
	for k := range dst {
		dst[k] = 0
	}
	for i := 0; i < r; i++ {
		for k, v := range a.RawRowView(i) {
			dst[k] += v
		}
	}
	for k := range dst {
		dst[k] /= float64(r)
	}
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// nextTemperature returns the next inverse temperature β' ∈ (β, 1], the ESS of the
// incremental weights w_j = exp(−(β' − β)φ_j) and log(mean w); logw receives the
// normalised log weights. β' is 1 when that keeps the ESS ≥ f·J, else the root of
// ESS(β') = f·J found by bisection.
func nextTemperature(phi []float64, beta, f float64, logw []float64) (next, ess, logz float64) {
	j := float64(len(phi))
	essAt := func(db float64) float64 {
		lmax := math.Inf(-1)
		for i, v := range phi {
			logw[i] = -db * v
			lmax = math.Max(lmax, logw[i])
		}
		var s1, s2 float64
		for _, l := range logw {
			w := math.Exp(l - lmax)
			s1 += w
			s2 += w * w
		}
		return s1 * s1 / s2
	}
	target := f * j
	db := 1 - beta
	if essAt(db) < target {
		lo, hi := 0.0, db
		for it := 0; it < 100 && hi-lo > 1e-14*db; it++ {
			mid := 0.5 * (lo + hi)
			if essAt(mid) >= target {
				lo = mid
			} else {
				hi = mid
			}
		}
		db = lo
		if db == 0 { // one particle dominates even the smallest step
			db = hi
		}
	}
	next = beta + db
	if 1-next < 1e-12 {
		next, db = 1, 1-beta
	}
	ess = essAt(db)
	lmax := math.Inf(-1)
	for _, l := range logw {
		lmax = math.Max(lmax, l)
	}
	var s float64
	for _, l := range logw {
		s += math.Exp(l - lmax)
	}
	lse := lmax + math.Log(s)
	for i := range logw {
		logw[i] -= lse
	}
	return next, ess, lse - math.Log(j)
}

// orderedSystematic writes into idx the particles chosen by systematic resampling of the
// normalised log weights logw after sorting the particles by their projection on the
// leading principal axis of the rows of x (power iteration), and interleaves them (the
// chosen particles of even rank fill the first half of the rows, those of odd rank the
// second) so that both halves of the ensemble represent the whole distribution. Sorting
// makes the resampled distribution of that projection exact to 1/J: the masses of
// well-separated modes, which the moves cannot exchange, are then not perturbed by the
// resampling noise that otherwise accumulates over the stages (a random walk).
func orderedSystematic(idx []int, logw []float64, x *mat.Dense, r *rand.Rand) {
	j, d := x.Dims()
	mean := make([]float64, d)
	colMean(mean, x)
	v := make([]float64, d)
	rng.Normal(v, r)
	p := make([]float64, j)
	for it := 0; it < 30; it++ {
		// p = (X − x̄)·v, v ← (X − x̄)ᵀ·p / ‖·‖
		for i := 0; i < j; i++ {
			var s float64
			for k, xv := range x.RawRowView(i) {
				s += (xv - mean[k]) * v[k]
			}
			p[i] = s
		}
		for k := range v {
			v[k] = 0
		}
		for i := 0; i < j; i++ {
			for k, xv := range x.RawRowView(i) {
				v[k] += p[i] * (xv - mean[k])
			}
		}
		var nrm float64
		for _, a := range v {
			nrm += a * a
		}
		if nrm == 0 {
			break
		}
		nrm = math.Sqrt(nrm)
		for k := range v {
			v[k] /= nrm
		}
	}
	order := make([]int, j)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return p[order[a]] < p[order[b]] })
	sorted := make([]float64, j)
	for i, o := range order {
		sorted[i] = logw[o]
	}
	pick := make([]int, j)
	systematic(pick, sorted, r.Float64())
	h := j / 2
	for i, k := range pick {
		row := i/2 + (i%2)*h
		if i%2 == 1 && j%2 == 1 {
			row = i/2 + h + 1
		}
		if i%2 == 0 && j%2 == 1 {
			row = i / 2
		}
		idx[row] = order[k]
	}
}

// systematic writes into idx the indices chosen by systematic resampling of the normalised
// log weights logw with the uniform offset u ∈ [0, 1).
func systematic(idx []int, logw []float64, u float64) {
	n := len(idx)
	c, k := math.Exp(logw[0]), 0
	for i := 0; i < n; i++ {
		t := (float64(i) + u) / float64(n)
		for t > c && k < n-1 {
			k++
			c += math.Exp(logw[k])
		}
		idx[i] = k
	}
}

// gather replaces row i of a by row idx[i] (tmp: scratch of a's shape) and returns the
// number of distinct rows chosen.
func gather(a, tmp *mat.Dense, idx []int) int {
	tmp.Copy(a)
	seen := map[int]bool{}
	for i, k := range idx {
		copy(a.RawRowView(i), tmp.RawRowView(k))
		seen[k] = true
	}
	return len(seen)
}

// linStats accumulates the first and second moments of the evaluated pairs (z, y = G(T(z)))
// of a run, for the least-squares linearisation y ≈ ȳ + Ĥ(z − z̄).
type linStats struct {
	n      float64
	sz, sy []float64
	szz    *mat.SymDense // Σ z zᵀ (D×D)
	syz    *mat.Dense    // Σ y zᵀ (M×D)
}

func newLinStats(d, m int) *linStats {
	return &linStats{sz: make([]float64, d), sy: make([]float64, m), szz: mat.NewSymDense(d, nil), syz: mat.NewDense(m, d, nil)}
}

// add accumulates the rows of z and y.
func (l *linStats) add(z, y *mat.Dense) {
	r, _ := z.Dims()
	l.n += float64(r)
	for i := 0; i < r; i++ {
		for k, v := range z.RawRowView(i) {
			l.sz[k] += v
		}
		for k, v := range y.RawRowView(i) {
			l.sy[k] += v
		}
	}
	l.szz.SymRankK(l.szz, 1, z.T())
	var t mat.Dense
	t.Mul(y.T(), z)
	l.syz.Add(l.syz, &t)
}

// jacobian returns Ĥ = C_yz·C̃_zz⁻¹ (M×D), the least-squares slope of y on z, with
// C̃_zz = (1 − w)·C_zz + w·I, w = D/(n + D): with few pairs (n ≲ D) the estimate tends to
// Stein's C_yz, exact for z ~ N(0, I) (the latent prior); with many, to the regression.
func (l *linStats) jacobian() (*mat.Dense, error) {
	d := len(l.sz)
	w := float64(d) / (l.n + float64(d))
	c := mat.NewSymDense(d, nil)
	for a := 0; a < d; a++ {
		ma := l.sz[a] / l.n
		for b := a; b < d; b++ {
			v := (1 - w) * (l.szz.At(a, b)/l.n - ma*l.sz[b]/l.n)
			if a == b {
				v += w
			}
			c.SetSym(a, b, v)
		}
	}
	m, _ := l.syz.Dims()
	cyz := mat.NewDense(m, d, nil)
	for a := 0; a < m; a++ {
		row, sr := cyz.RawRowView(a), l.syz.RawRowView(a)
		ya := l.sy[a] / l.n
		for b := range row {
			row[b] = sr[b]/l.n - ya*l.sz[b]/l.n
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(c) {
		return nil, errors.New("latent covariance of the evaluated points is not positive definite")
	}
	var ht mat.Dense
	if err := ch.SolveTo(&ht, cyz.T()); err != nil {
		return nil, err
	}
	return mat.DenseCopyOf(ht.T()), nil
}

// misfitHessian returns R (M×M) with RᵀR ≈ ∂²Loss/∂y² at y: the misfit's Hessian by central
// differences of its analytic gradient (exact for the Gaussian misfit), symmetrised, negative
// eigenvalues set to zero.
func misfitHessian(mf interface {
	Gradient(dst, pred, obs []float64)
}, y, obs []float64) (*mat.Dense, error) {
	m := len(y)
	h := mat.NewSymDense(m, nil)
	gp, gm, yp := make([]float64, m), make([]float64, m), append([]float64(nil), y...)
	cols := mat.NewDense(m, m, nil)
	for k := 0; k < m; k++ {
		e := 1e-4 * math.Max(1, math.Abs(y[k]))
		yp[k] = y[k] + e
		mf.Gradient(gp, yp, obs)
		yp[k] = y[k] - e
		mf.Gradient(gm, yp, obs)
		yp[k] = y[k]
		for i := range gp {
			cols.Set(i, k, (gp[i]-gm[i])/(2*e))
		}
	}
	for a := 0; a < m; a++ {
		for b := a; b < m; b++ {
			h.SetSym(a, b, 0.5*(cols.At(a, b)+cols.At(b, a)))
		}
	}
	var ev mat.EigenSym
	if !ev.Factorize(h, true) {
		return nil, errors.New("eigendecomposition of the misfit Hessian failed")
	}
	vals := ev.Values(nil)
	var vecs mat.Dense
	ev.VectorsTo(&vecs)
	r := mat.NewDense(m, m, nil)
	for i, v := range vals {
		sv := math.Sqrt(math.Max(v, 0))
		for k := 0; k < m; k++ {
			r.Set(i, k, sv*vecs.At(k, i))
		}
	}
	return r, nil
}

// gnGauss is the proposal Gaussian g = N(m̂, Σ̂) with the Gauss–Newton covariance of the
// tempered latent posterior, Σ̂ = (I + β·ĤᵀWĤ)⁻¹ = (I + BᵀB)⁻¹, B = √β·R·Ĥ, held as the
// eigenpairs of BᵀB: Σ̂⁻¹ = I + V·diag(λ)·Vᵀ, Σ̂^{1/2} = I − V·diag(1 − 1/√(1 + λ))·Vᵀ.
type gnGauss struct {
	d    int
	mean []float64
	v    *mat.Dense // D×r
	lam  []float64  // r
	// scratch
	p, xi *mat.Dense
}

// set computes V and λ from B (M×D).
func (g *gnGauss) set(b *mat.Dense) error {
	m, d := b.Dims()
	g.d = d
	// BBᵀ = U·diag(λ)·Uᵀ; V = BᵀU·diag(λ^{-1/2}) for λ > 0.
	var bbt mat.SymDense
	bbt.SymOuterK(1, b)
	var ev mat.EigenSym
	if !ev.Factorize(&bbt, true) {
		return errors.New("eigendecomposition of the Gauss–Newton Hessian failed")
	}
	vals := ev.Values(nil)
	var u mat.Dense
	ev.VectorsTo(&u)
	vmax := 0.0
	for _, v := range vals {
		vmax = math.Max(vmax, v)
	}
	var keep []int
	for i, v := range vals {
		if v > 1e-10*vmax && v > 1e-12 {
			keep = append(keep, i)
		}
	}
	g.lam = g.lam[:0]
	g.v = nil
	if len(keep) == 0 {
		return nil
	}
	us := mat.NewDense(m, len(keep), nil)
	for c, i := range keep {
		g.lam = append(g.lam, vals[i])
		for k := 0; k < m; k++ {
			us.Set(k, c, u.At(k, i)/math.Sqrt(vals[i]))
		}
	}
	g.v = mat.NewDense(d, len(keep), nil)
	g.v.Mul(b.T(), us)
	return nil
}

// quad writes (z_i − m̂)ᵀΣ̂⁻¹(z_i − m̂) = |r|² + Σ_k λ_k (v_kᵀr)² for every row of z.
func (g *gnGauss) quad(dst []float64, z *mat.Dense) {
	n, d := z.Dims()
	r := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		zr, rr := z.RawRowView(i), r.RawRowView(i)
		var q float64
		for k, v := range zr {
			rr[k] = v - g.mean[k]
			q += rr[k] * rr[k]
		}
		dst[i] = q
	}
	if g.v == nil {
		return
	}
	var p mat.Dense
	p.Mul(r, g.v)
	for i := 0; i < n; i++ {
		for k, v := range p.RawRowView(i) {
			dst[i] += g.lam[k] * v * v
		}
	}
}

// propose writes z'_i = m̂ + ρ(z_i − m̂) + s·Σ̂^{1/2}ξ_i for every row i of z and a uniform
// u_i for the acceptance, row i drawing from rng.Stream(seed, first+i).
func (g *gnGauss) propose(ctx context.Context, workers int, dst, z *mat.Dense, rho, s float64, seed uint64, first int, u []float64) error {
	n, d := z.Dims()
	xi := mat.NewDense(n, d, nil)
	if err := parallel.For(ctx, n, workers, func(_, i int) error {
		r := rng.Stream(seed, first+i)
		rng.Normal(xi.RawRowView(i), r)
		u[i] = r.Float64()
		return nil
	}); err != nil {
		return err
	}
	if g.v != nil {
		// Σ̂^{1/2}ξ = ξ − V·(c ⊙ Vᵀξ), c_k = 1 − 1/√(1 + λ_k).
		var p mat.Dense
		p.Mul(xi, g.v)
		for i := 0; i < n; i++ {
			row := p.RawRowView(i)
			for k := range row {
				row[k] *= 1 - 1/math.Sqrt(1+g.lam[k])
			}
		}
		var corr mat.Dense
		corr.Mul(&p, g.v.T())
		xi.Sub(xi, &corr)
	}
	for i := 0; i < n; i++ {
		dr, zr, x := dst.RawRowView(i), z.RawRowView(i), xi.RawRowView(i)
		for k := range dr {
			dr[k] = g.mean[k] + rho*(zr[k]-g.mean[k]) + s*x[k]
		}
	}
	return nil
}

// CredibleInterval returns, per column of the ensemble x (members in rows), the central
// credible interval of the given level ∈ (0, 1) from the empirical quantiles (linear
// interpolation between order statistics, numpy's default).
func CredibleInterval(x *mat.Dense, level float64) (lo, hi []float64, err error) {
	l, h, err := CredibleIntervals(x, []float64{level})
	if err != nil {
		return nil, nil, err
	}
	return l[0], h[0], nil
}

// CredibleIntervals is CredibleInterval for several levels at once: lo[l] and hi[l] are the
// intervals of levels[l]. Each column is sorted once, blocks of columns are gathered from
// the rows (contiguous reads) and sorted on all cores; the result does not depend on the
// number of cores.
func CredibleIntervals(x *mat.Dense, levels []float64) (lo, hi [][]float64, err error) {
	for _, level := range levels {
		if !(level > 0 && level < 1) {
			return nil, nil, fmt.Errorf("guidance: credible level %v must lie in (0, 1)", level)
		}
	}
	j, d := x.Dims()
	if j < 1 {
		return nil, nil, errors.New("guidance: credible intervals of an empty ensemble")
	}
	lo, hi = make([][]float64, len(levels)), make([][]float64, len(levels))
	for l := range levels {
		lo[l], hi[l] = make([]float64, d), make([]float64, d)
	}
	q := func(col []float64, p float64) float64 {
		h := p * float64(j-1)
		k := int(math.Floor(h))
		if k >= j-1 {
			return col[j-1]
		}
		return col[k] + (h-float64(k))*(col[k+1]-col[k])
	}
	const block = 64
	workers := parallel.Workers(0)
	bufs := make([][]float64, workers)
	err = parallel.For(context.Background(), (d+block-1)/block, workers, func(w, b int) error {
		k0 := b * block
		k1 := min(d, k0+block)
		if bufs[w] == nil {
			bufs[w] = make([]float64, block*j)
		}
		buf := bufs[w]
		for i := 0; i < j; i++ {
			for c, v := range x.RawRowView(i)[k0:k1] {
				buf[c*j+i] = v
			}
		}
		for c := 0; c < k1-k0; c++ {
			col := buf[c*j : (c+1)*j]
			slices.Sort(col)
			for l, level := range levels {
				lo[l][k0+c], hi[l][k0+c] = q(col, (1-level)/2), q(col, (1+level)/2)
			}
		}
		return nil
	})
	return lo, hi, err
}

// Coverage returns the fraction of entries of truth inside [lo, hi].
func Coverage(lo, hi, truth []float64) float64 {
	n := 0
	for k, v := range truth {
		if v >= lo[k] && v <= hi[k] {
			n++
		}
	}
	return float64(n) / float64(len(truth))
}

// Median returns the median of a (a copy is sorted; NaN for an empty slice).
func Median(a []float64) float64 {
	if len(a) == 0 {
		return math.NaN()
	}
	c := append([]float64(nil), a...)
	sort.Float64s(c)
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return 0.5 * (c[n/2-1] + c[n/2])
}
