package diffusion

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// Solver selects the ODE integrator of a Sampler.
type Solver int

const (
	// Euler is the first-order step x_{i+1} = x_i + (t_{i+1} − t_i)·d_i (N denoiser calls).
	Euler Solver = iota
	// Heun is EDM Algorithm 1: an Euler predictor followed by the trapezoidal corrector,
	// except on the last step to t_N = 0 (2N − 1 denoiser calls).
	Heun
)

func (s Solver) String() string {
	switch s {
	case Euler:
		return "euler"
	case Heun:
		return "heun"
	}
	return fmt.Sprintf("Solver(%d)", int(s))
}

// Sampler draws from a diffusion prior by integrating its probability-flow ODE (EDM
// Algorithm 1) or, with SChurn > 0, the stochastic sampler of EDM Algorithm 2: before step
// i, if S_min ≤ σ(t_i) ≤ S_max, the noise is raised to σ(t̂) = (1 + γ)σ(t_i) with
// γ = min(S_churn/N, √2 − 1),
//
//	x̂ = s(t̂)/s(t_i)·x_i + √(σ(t̂)² − σ(t_i)²)·s(t̂)·S_noise·ε,
//
// and the ODE step starts from (t̂, x̂). Member j draws its initial noise and its churn
// noise from rng.Stream(seed, j), so results do not depend on the number of workers.
//
// The zero value is the deterministic Euler sampler on the EDM formulation with 18 steps.
type Sampler struct {
	Formulation Formulation // nil: EDM{} (σ_min 0.002, σ_max 80, ρ 7)
	Steps       int         // N; 0: 18
	Solver      Solver      // Euler (zero value) or Heun
	SChurn      float64     // S_churn ≥ 0; 0: deterministic
	SMin        float64     // S_min; default 0
	SMax        float64     // S_max; 0: +Inf
	SNoise      float64     // S_noise; 0: 1
	Workers     int         // goroutines for the elementwise updates; 0: GOMAXPROCS
}

func (s *Sampler) settings() (Formulation, int, float64, float64, float64, error) {
	f := s.Formulation
	if f == nil {
		f = EDM{}
	}
	n := s.Steps
	if n == 0 {
		n = 18
	}
	smax, snoise := s.SMax, s.SNoise
	if smax == 0 {
		smax = math.Inf(1)
	}
	if snoise == 0 {
		snoise = 1
	}
	switch {
	case n < 1:
		return nil, 0, 0, 0, 0, fmt.Errorf("%w: sampler needs Steps ≥ 1, got %d", ErrParam, n)
	case !(s.SChurn >= 0) || math.IsInf(s.SChurn, 0):
		return nil, 0, 0, 0, 0, fmt.Errorf("%w: sampler S_churn = %v must be finite and ≥ 0", ErrParam, s.SChurn)
	case math.IsNaN(s.SMin) || math.IsNaN(smax) || !(snoise >= 0) || math.IsInf(snoise, 0):
		return nil, 0, 0, 0, 0, fmt.Errorf("%w: sampler S_min, S_max, S_noise = %v, %v, %v", ErrParam, s.SMin, smax, snoise)
	case s.Solver != Euler && s.Solver != Heun:
		return nil, 0, 0, 0, 0, fmt.Errorf("%w: unknown solver %v", ErrParam, s.Solver)
	}
	return f, n, smax, snoise, s.SChurn, nil
}

// SigmaRanger is implemented by denoisers trained on a limited range of noise levels
// (EDM's net.sigma_min and net.sigma_max). Sampler clamps its schedule to that range as
// EDM's samplers do: σ_min ← max(σ_min, lo), σ_max ← min(σ_max, hi) for EDM and VE, and
// for VP the formulation is rebuilt by VPFromSigmas on the clamped range of σ(ε_s), σ(1).
type SigmaRanger interface {
	SigmaRange() (lo, hi float64)
}

// clampFormulation applies a denoiser's SigmaRange to f (EDM, VE and VP values).
func clampFormulation(f Formulation, d Denoiser) (Formulation, error) {
	sr, ok := d.(SigmaRanger)
	if !ok {
		return f, nil
	}
	lo, hi := sr.SigmaRange()
	switch v := f.(type) {
	case EDM:
		k := v.karras()
		v.SigmaMin, v.SigmaMax, v.Rho = math.Max(k.SigmaMin, lo), math.Min(k.SigmaMax, hi), k.Rho
		return v, nil
	case VE:
		a, b := v.params()
		return VE{SigmaMin: math.Max(a, lo), SigmaMax: math.Min(b, hi)}, nil
	case VP:
		_, _, eps := v.params()
		a, b := math.Max(v.Sigma(eps), lo), math.Min(v.Sigma(1), hi)
		if a == v.Sigma(eps) && b == v.Sigma(1) {
			return v, nil
		}
		return VPFromSigmas(a, b, eps)
	}
	return f, nil
}

// Times returns t_0, …, t_N = 0 of the sampler's formulation.
func (s *Sampler) Times() ([]float64, error) {
	f, n, _, _, _, err := s.settings()
	if err != nil {
		return nil, err
	}
	return f.AppendTimes(nil, n)
}

// Sample fills dst (one member per row, d.Dim() columns) with draws from the prior of d:
// x_0 = σ(t_0)·s(t_0)·ε_j, integrated to t_N = 0.
func (s *Sampler) Sample(ctx context.Context, dst *mat.Dense, d Denoiser, seed uint64) error {
	f, n, _, _, _, err := s.settings()
	if err != nil {
		return err
	}
	if _, c := dst.Dims(); c != d.Dim() {
		return fmt.Errorf("%w: sampler: dst has %d columns, the denoiser %d", ErrDim, c, d.Dim())
	}
	if f, err = clampFormulation(f, d); err != nil {
		return err
	}
	ts, err := f.AppendTimes(nil, n)
	if err != nil {
		return err
	}
	r, _ := dst.Dims()
	streams := make([]*rand.Rand, r)
	for j := range streams {
		streams[j] = rng.Stream(seed, j)
	}
	a := f.Sigma(ts[0]) * f.Scale(ts[0])
	if err := parallel.For(ctx, r, rowWorkers(s.Workers, dst), func(_, j int) error {
		row := dst.RawRowView(j)
		for k := range row {
			row[k] = a * streams[j].NormFloat64()
		}
		return nil
	}); err != nil {
		return err
	}
	return s.run(ctx, f, dst, d, ts, streams)
}

// Integrate advances the ensemble x (in the formulation's scaled space at t_0) to t_N = 0
// in place. Churn noise, if any, comes from rng.Stream(seed, j) for member j.
func (s *Sampler) Integrate(ctx context.Context, x *mat.Dense, d Denoiser, seed uint64) error {
	f, n, _, _, _, err := s.settings()
	if err != nil {
		return err
	}
	if _, c := x.Dims(); c != d.Dim() {
		return fmt.Errorf("%w: sampler: x has %d columns, the denoiser %d", ErrDim, c, d.Dim())
	}
	if f, err = clampFormulation(f, d); err != nil {
		return err
	}
	ts, err := f.AppendTimes(nil, n)
	if err != nil {
		return err
	}
	var streams []*rand.Rand
	if s.SChurn > 0 {
		r, _ := x.Dims()
		streams = make([]*rand.Rand, r)
		for j := range streams {
			streams[j] = rng.Stream(seed, j)
		}
	}
	return s.run(ctx, f, x, d, ts, streams)
}

// sampleWork holds the ensemble-sized buffers of one run.
type sampleWork struct {
	den, scaled, dcur, xprime *mat.Dense
}

func (s *Sampler) run(ctx context.Context, f Formulation, x *mat.Dense, d Denoiser, ts []float64, streams []*rand.Rand) error {
	_, n, smax, snoise, churn, _ := s.settings()
	r, c := x.Dims()
	w := sampleWork{den: mat.NewDense(r, c, nil)}
	if s.Solver == Heun {
		w.dcur, w.xprime = mat.NewDense(r, c, nil), mat.NewDense(r, c, nil)
	}
	workers := rowWorkers(s.Workers, x)
	gammaMax := math.Min(churn/float64(n), math.Sqrt2-1)
	for i := 0; i < n; i++ {
		t, tn := ts[i], ts[i+1]
		sig := f.Sigma(t)
		that := t
		if churn > 0 && s.SMin <= sig && sig <= smax && gammaMax > 0 {
			that = f.SigmaInv(sig + gammaMax*sig)
			ratio := f.Scale(that) / f.Scale(t)
			shat := f.Sigma(that)
			amp := math.Sqrt(math.Max(shat*shat-sig*sig, 0)) * f.Scale(that) * snoise
			if err := parallel.For(ctx, r, workers, func(_, j int) error {
				row := x.RawRowView(j)
				for k, v := range row {
					row[k] = ratio*v + amp*streams[j].NormFloat64()
				}
				return nil
			}); err != nil {
				return err
			}
		}
		h := tn - that
		a, b, err := s.denoiseAt(ctx, f, d, &w, x, that)
		if err != nil {
			return fmt.Errorf("sampler step %d (t = %g): %w", i, that, err)
		}
		if s.Solver == Euler || i == n-1 {
			// x ← x + h·(a·x − b·D)
			if err := parallel.For(ctx, r, workers, func(_, j int) error {
				xr, dr := x.RawRowView(j), w.den.RawRowView(j)
				for k, v := range xr {
					xr[k] = v + h*(a*v-b*dr[k])
				}
				return nil
			}); err != nil {
				return err
			}
			continue
		}
		// d = a·x − b·D;  x' = x + h·d
		if err := parallel.For(ctx, r, workers, func(_, j int) error {
			xr, dr, dc, xp := x.RawRowView(j), w.den.RawRowView(j), w.dcur.RawRowView(j), w.xprime.RawRowView(j)
			for k, v := range xr {
				dk := a*v - b*dr[k]
				dc[k] = dk
				xp[k] = v + h*dk
			}
			return nil
		}); err != nil {
			return err
		}
		a2, b2, err := s.denoiseAt(ctx, f, d, &w, w.xprime, tn)
		if err != nil {
			return fmt.Errorf("sampler step %d corrector (t = %g): %w", i, tn, err)
		}
		// x ← x + h·(½d + ½d'),  d' = a'·x' − b'·D(x')
		if err := parallel.For(ctx, r, workers, func(_, j int) error {
			xr, dr, dc, xp := x.RawRowView(j), w.den.RawRowView(j), w.dcur.RawRowView(j), w.xprime.RawRowView(j)
			for k, v := range xr {
				xr[k] = v + h*(0.5*dc[k]+0.5*(a2*xp[k]-b2*dr[k]))
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// denoiseAt writes D(x/s(t); σ(t)) into w.den and returns the coefficients of the slope
// d = a·x − b·D with a = σ'/σ + s'/s and b = σ's/σ at t.
func (s *Sampler) denoiseAt(ctx context.Context, f Formulation, d Denoiser, w *sampleWork, x *mat.Dense, t float64) (a, b float64, err error) {
	sig, sc := f.Sigma(t), f.Scale(t)
	in := x
	if sc != 1 {
		if w.scaled == nil {
			r, c := x.Dims()
			w.scaled = mat.NewDense(r, c, nil)
		}
		w.scaled.Scale(1/sc, x)
		in = w.scaled
	}
	if err := d.Denoise(ctx, w.den, in, sig); err != nil {
		return 0, 0, err
	}
	sd := f.SigmaDeriv(t)
	return sd/sig + f.ScaleDeriv(t)/sc, sd * sc / sig, nil
}
