package guidance

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestDPGDirectionDescendsTheMisfit: with many Monte Carlo samples the DPG guidance of one
// step (scale B minus scale 0) points along −∇_x L(D(x; σ)), the policy-gradient estimate of
// the misfit's descent direction, and has length factor·B.
func TestDPGDirectionDescendsTheMisfit(t *testing.T) {
	lg := newLinGauss(8, 3, 1, 0.1, 12)
	sch := Schedule{Kind: "edm", Steps: 40, SigmaMax: 2, SigmaMin: 0.002}
	step := func(scale float64) *mat.Dense {
		s := DPGSettings{Members: 1, Schedule: sch, Scale: scale, MCSamples: 20000, BatchSize: 100, Beta: 0.1, ODE: true, Seed: 5}
		m, err := NewDPG(s)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := Solve(context.Background(), lg.p, m, Options{Recorder: RecorderFunc(func(si StepInfo) error {
			if si.Step == 0 {
				return errStop
			}
			return nil
		})})
		return res.Ensemble
	}
	const B = 0.5
	guided, free := step(B), step(0)
	d, _ := sch.discretise()
	c := newChains(1, 8, 1, 5, d.sigmaInit)
	x := c.x.RawRowView(0)
	// ∇_x L(D(x)) = J_Dᵀ Aᵀ ∂Misfit/∂y; J_D = v/(v+σ²) I for this prior.
	den := mat.NewDense(1, 8, nil)
	_ = lg.p.Prior.Denoise(context.Background(), den, mat.NewDense(1, 8, append([]float64(nil), x...)), d.sigma[0])
	y, r, g := make([]float64, 3), make([]float64, 3), make([]float64, 8)
	_ = lg.a.Forward(context.Background(), y, den.RawRowView(0))
	lg.p.Misfit.Gradient(r, y, lg.p.Observation)
	_ = lg.a.Adjoint(g, r)
	var dot, nd, ng float64
	for k := range g {
		dk := guided.At(0, k) - free.At(0, k)
		dot += -g[k] * dk
		nd += dk * dk
		ng += g[k] * g[k]
	}
	cos := dot / math.Sqrt(nd*ng)
	t.Logf("cosine between DPG guidance and −∇L: %.4f; length %.4g (factor·B = %.4g)", cos, math.Sqrt(nd), d.factor[0]*B*0.5)
	if cos < 0.9 {
		t.Errorf("DPG guidance is not a descent direction: cosine %.3f", cos)
	}
	// ODE step: x += ½·factor·(score + B·g/(‖g‖ + 1e−7)); the published 1e−7 shortens the unit
	// vector by 1e−7/‖g‖ (3e−5 here).
	if want := 0.5 * d.factor[0] * B; math.Abs(math.Sqrt(nd)-want) > 1e-3*want || math.Sqrt(nd) > want {
		t.Errorf("guidance length %v, want ½·factor·B = %v", math.Sqrt(nd), want)
	}
}
