package guidance

import (
	"context"
	"fmt"
	"time"
)

// chainRun is the frame of one run of a single-chain baseline (DPS and its GSG variants,
// DPG, SCG): the checks, the initial chains x ~ N(0, σ_init²·I), and the loop over the
// discretised schedule.
type chainRun struct {
	ctx   context.Context
	p     *Problem
	name  string
	eng   Engine
	rec   Recorder
	dz    *discretisation
	start time.Time
	c     *chains
}

// startChains checks p against m and eng and draws the initial chains.
func startChains(ctx context.Context, p *Problem, m Method, eng Engine, rec Recorder, dz *discretisation, members int, seed uint64) (*chainRun, error) {
	if err := Check(p, m, eng); err != nil {
		return nil, err
	}
	if rec == nil {
		rec = NopRecorder{}
	}
	r := &chainRun{ctx: ctx, p: p, name: m.Name(), eng: eng, rec: rec, dz: dz, start: time.Now()}
	r.c = newChains(members, eng.InputDim(), eng.Workers(), seed, dz.sigmaInit)
	return r, nil
}

// loop runs the steps i = 0, …, N−1. Each denoises x̂0 = D(x/s_i; σ_i) into c.den (c.xs
// holds x/s_i), then calls step, which updates c.x and fills info; then the spread and the
// counts are recorded. On an error, or on cancellation, it returns the chains as they are
// with the number of completed steps.
func (r *chainRun) loop(step func(i int, sig, sc float64, info *StepInfo) error) (*Result, error) {
	c, dz := r.c, r.dz
	mean := make([]float64, r.eng.InputDim())
	partial := func(steps int, err error) (*Result, error) {
		return newResult(r.name, c.x, r.eng.Counts(), steps, time.Since(r.start)), err
	}
	fail := func(i int, err error) (*Result, error) {
		if r.ctx.Err() != nil {
			return partial(i, r.ctx.Err())
		}
		return partial(i, fmt.Errorf("guidance: %s step %d (σ = %.4g): %w", r.name, i, dz.sigma[i], atStep(err, i)))
	}
	info := new(StepInfo) // reused: one allocation per run, not per step
	for i := 0; i < dz.n; i++ {
		sig, sc := dz.sigma[i], dz.scale[i]
		*info = StepInfo{Method: r.name, Step: i, Steps: dz.n, Sigma: sig}
		scaleRows(c.xs, c.x, sc)
		if err := r.eng.Denoise(r.ctx, r.p.Prior, c.den, c.xs, sig); err != nil {
			return fail(i, err)
		}
		if err := step(i, sig, sc, info); err != nil {
			return fail(i, err)
		}
		info.Spread = spread(c.x, mean)
		info.Counts = r.eng.Counts()
		if err := r.rec.Record(*info); err != nil {
			return partial(i+1, fmt.Errorf("guidance: %s: recorder: %w", r.name, err))
		}
	}
	return partial(dz.n, nil)
}
