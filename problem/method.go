package problem

import (
	"fmt"
	"math"

	"github.com/enkg-go/enkg/guidance"
)

// EnKGSettings returns the EnKG settings of algorithm.enkg (seed: Config.Seed).
func (c Config) EnKGSettings() guidance.EnKGSettings {
	e := c.Algorithm.EnKG
	return guidance.EnKGSettings{Members: e.Members, Steps: e.Steps, Updates: e.Updates, Scale: e.Scale,
		SigmaMax: e.SigmaMax, SigmaMin: e.SigmaMin, Rho: e.Rho, ThresholdStart: e.ThresholdStart, ThresholdEnd: e.ThresholdEnd,
		LRMinRatio: e.LRMinRatio, ODESigmaMin: e.ODESigmaMin, MaxODESteps: e.MaxODESteps, Float32Schedule: e.Float32Schedule,
		Discrepancy: e.Discrepancy, Localization: e.Localization, Seed: c.Seed, OnMemberFailure: c.failurePolicy()}
}

// failurePolicy is algorithm.on_member_failure (FailError when invalid: Method reports it).
func (c Config) failurePolicy() guidance.FailurePolicy {
	f, _ := guidance.ParseFailurePolicy(c.Algorithm.OnMemberFailure)
	return f
}

// Budget returns the forward-model evaluations of the EnKG settings (known before a run):
// J·updates·(guided steps).
func (c Config) Budget() int64 { return c.EnKGSettings().ForwardBudget() }

// EKISettings returns the EKI settings: with algorithm.eki.equal_budget, the EnKG ensemble
// size and ⌊Budget/J⌋ iterations (at least 1), so that EKI spends the same number of forward
// evaluations as the EnKG settings (exactly, since the budget is a multiple of J).
func (c Config) EKISettings() guidance.EKISettings {
	k := c.Algorithm.EKI
	s := guidance.EKISettings{Members: k.Members, Iterations: k.Iterations, Scale: k.Scale, Discrepancy: k.Discrepancy, Localization: k.Localization, Seed: c.Seed,
		OnMemberFailure: c.failurePolicy()}
	if k.EqualBudget {
		s.Members = c.Algorithm.EnKG.Members
		s.Iterations = max(1, int(c.Budget()/int64(max(1, s.Members))))
	}
	return s
}

// Method returns the method algorithm.name selects.
func (c Config) Method() (guidance.Method, error) {
	a := c.Algorithm
	sch := guidance.Schedule{Kind: a.Sch.Kind, Steps: a.Sch.Steps, SigmaMax: a.Sch.SigmaMax, SigmaMin: a.Sch.SigmaMin,
		SigmaFinal: a.Sch.SigmaFinal, Rho: a.Sch.Rho}
	fail, err := guidance.ParseFailurePolicy(a.OnMemberFailure)
	if err != nil {
		return nil, fmt.Errorf("%w: algorithm.on_member_failure %q (want error or resample)", ErrConfig, a.OnMemberFailure)
	}
	if fail == guidance.FailResample && a.Name != "enkg" && a.Name != "eki" {
		return nil, fmt.Errorf("%w: algorithm.on_member_failure resample is for enkg and eki, not %s", ErrConfig, a.Name)
	}
	// section names the settings' section in a validation error (the schedule of the
	// gradient baselines is algorithm.schedule).
	section := func(key string, m guidance.Method, err error) (guidance.Method, error) {
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrConfig, key, err)
		}
		return m, nil
	}
	switch a.Name {
	case "enkg":
		m, err := guidance.NewEnKG(c.EnKGSettings())
		return section("algorithm.enkg", m, err)
	case "eki":
		m, err := guidance.NewEKI(c.EKISettings())
		return section("algorithm.eki", m, err)
	case "dps", "forward-gsg", "central-gsg":
		g := map[string]guidance.GradientEstimate{"dps": guidance.Exact, "forward-gsg": guidance.ForwardGSG, "central-gsg": guidance.CentralGSG}[a.Name]
		d := a.DPS
		m, err := guidance.NewDPS(guidance.DPSSettings{Members: d.Members, Schedule: sch, Scale: d.Scale, ODE: d.ODE, Gradient: g,
			Queries: d.Queries, BatchSize: d.BatchSize, Mu: d.Mu, Seed: c.Seed})
		return section("algorithm.dps or algorithm.schedule", m, err)
	case "dpg":
		d := a.DPG
		m, err := guidance.NewDPG(guidance.DPGSettings{Members: d.Members, Schedule: sch, Scale: d.Scale, MCSamples: d.MCSamples,
			BatchSize: d.BatchSize, Beta: d.Beta, RMin: d.RMin, ODE: d.ODE, Seed: c.Seed})
		return section("algorithm.dpg or algorithm.schedule", m, err)
	case "posterior":
		s, err := c.PosteriorSettings()
		if err != nil {
			return nil, err
		}
		return guidance.NewPosterior(s)
	case "scg":
		s := a.SCG
		m, err := guidance.NewSCG(guidance.SCGSettings{Members: s.Members, Schedule: sch, Candidates: s.Candidates,
			BatchSize: s.BatchSize, Threshold: s.Threshold, Seed: c.Seed})
		return section("algorithm.scg or algorithm.schedule", m, err)
	}
	return nil, fmt.Errorf("%w: algorithm.name %q (want enkg, eki, dps, forward-gsg, central-gsg, dpg, scg or posterior)", ErrConfig, a.Name)
}

// PosteriorSettings returns the settings of algorithm.posterior (seed: Config.Seed), or an
// error naming the first invalid key.
func (c Config) PosteriorSettings() (guidance.PosteriorSettings, error) {
	p := c.Algorithm.Posterior
	s := guidance.PosteriorSettings{Members: p.Members, ESSFraction: p.ESSFraction, Moves: p.Moves, FinalMoves: p.FinalMoves,
		MaxMoves: p.MaxMoves, Decorrelation: p.Decorrelation,
		TargetAcceptance: p.TargetAcceptance, InitialStep: p.InitialStep, Steps: p.Steps, SigmaMax: p.SigmaMax,
		SigmaMin: p.SigmaMin, Rho: p.Rho, MaxStages: p.MaxStages, Seed: c.Seed}
	d := guidance.DefaultPosteriorSettings()
	bad := func(key string, v any, want string) error {
		return fmt.Errorf("%w: algorithm.posterior.%s = %v: %s", ErrConfig, key, v, want)
	}
	open01 := func(v float64) bool { return v > 0 && v < 1 }
	switch {
	case p.Members < 4:
		return s, bad("members", p.Members, fmt.Sprintf("need at least 4 (default %d)", d.Members))
	case !open01(p.ESSFraction):
		return s, bad("ess_fraction", p.ESSFraction, fmt.Sprintf("must lie in (0, 1) (default %g)", d.ESSFraction))
	case p.Moves < 1:
		return s, bad("moves", p.Moves, fmt.Sprintf("need at least 1 (default %d)", d.Moves))
	case p.FinalMoves < 1:
		return s, bad("final_moves", p.FinalMoves, fmt.Sprintf("need at least 1 (default %d)", d.FinalMoves))
	case p.MaxMoves < 1:
		return s, bad("max_moves", p.MaxMoves, fmt.Sprintf("need at least 1 (default %d)", d.MaxMoves))
	case !(p.Decorrelation >= 0 && p.Decorrelation < 1):
		return s, bad("decorrelation", p.Decorrelation, fmt.Sprintf("must lie in [0, 1) (default %g)", d.Decorrelation))
	case !open01(p.TargetAcceptance):
		return s, bad("target_acceptance", p.TargetAcceptance, fmt.Sprintf("must lie in (0, 1) (default %g)", d.TargetAcceptance))
	case !(p.InitialStep > 0 && p.InitialStep <= 1):
		return s, bad("initial_step", p.InitialStep, fmt.Sprintf("must lie in (0, 1] (default %g)", d.InitialStep))
	case p.Steps < 1:
		return s, bad("steps", p.Steps, fmt.Sprintf("need at least 1 (default %d)", d.Steps))
	case !(p.SigmaMin > 0) || math.IsInf(p.SigmaMin, 0):
		return s, bad("sigma_min", p.SigmaMin, fmt.Sprintf("must be positive and finite (default %g)", d.SigmaMin))
	case !(p.SigmaMax > p.SigmaMin) || math.IsInf(p.SigmaMax, 0):
		return s, bad("sigma_max", p.SigmaMax, fmt.Sprintf("must be finite and above sigma_min (default %g)", d.SigmaMax))
	case !(p.Rho > 0) || math.IsInf(p.Rho, 0):
		return s, bad("rho", p.Rho, fmt.Sprintf("must be positive and finite (default %g)", d.Rho))
	case p.MaxStages < 1:
		return s, bad("max_stages", p.MaxStages, fmt.Sprintf("need at least 1 (default %d)", d.MaxStages))
	}
	return s, s.Validate()
}
