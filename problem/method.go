package problem

import (
	"fmt"

	"github.com/enkg-go/enkg/guidance"
)

// EnKGSettings returns the EnKG settings of algorithm.enkg (seed: Config.Seed).
func (c Config) EnKGSettings() guidance.EnKGSettings {
	e := c.Algorithm.EnKG
	return guidance.EnKGSettings{Members: e.Members, Steps: e.Steps, Updates: e.Updates, Scale: e.Scale,
		SigmaMax: e.SigmaMax, SigmaMin: e.SigmaMin, Rho: e.Rho, ThresholdStart: e.ThresholdStart, ThresholdEnd: e.ThresholdEnd,
		LRMinRatio: e.LRMinRatio, ODESigmaMin: e.ODESigmaMin, MaxODESteps: e.MaxODESteps, Float32Schedule: e.Float32Schedule,
		Discrepancy: e.Discrepancy, Seed: c.Seed, OnMemberFailure: c.failurePolicy()}
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
	s := guidance.EKISettings{Members: k.Members, Iterations: k.Iterations, Scale: k.Scale, Discrepancy: k.Discrepancy, Seed: c.Seed,
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
	switch a.Name {
	case "enkg":
		return guidance.NewEnKG(c.EnKGSettings())
	case "eki":
		return guidance.NewEKI(c.EKISettings())
	case "dps", "forward-gsg", "central-gsg":
		g := map[string]guidance.GradientEstimate{"dps": guidance.Exact, "forward-gsg": guidance.ForwardGSG, "central-gsg": guidance.CentralGSG}[a.Name]
		d := a.DPS
		return guidance.NewDPS(guidance.DPSSettings{Members: d.Members, Schedule: sch, Scale: d.Scale, ODE: d.ODE, Gradient: g,
			Queries: d.Queries, BatchSize: d.BatchSize, Mu: d.Mu, Seed: c.Seed})
	case "dpg":
		d := a.DPG
		return guidance.NewDPG(guidance.DPGSettings{Members: d.Members, Schedule: sch, Scale: d.Scale, MCSamples: d.MCSamples,
			BatchSize: d.BatchSize, Beta: d.Beta, RMin: d.RMin, ODE: d.ODE, Seed: c.Seed})
	case "scg":
		s := a.SCG
		return guidance.NewSCG(guidance.SCGSettings{Members: s.Members, Schedule: sch, Candidates: s.Candidates,
			BatchSize: s.BatchSize, Threshold: s.Threshold, Seed: c.Seed})
	}
	return nil, fmt.Errorf("%w: algorithm.name %q (want enkg, eki, dps, forward-gsg, central-gsg, dpg or scg)", ErrConfig, a.Name)
}
