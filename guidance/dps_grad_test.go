package guidance

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestDPSGuidanceIsGradientOfResidualNorm: one DPS step with scale ζ minus the same step with
// scale 0 is −ζ·∇_x ‖G(D(x/s; σ)) − y‖ (finite differences), on the VP schedule where s ≠ 1,
// which checks the ½/√L normalisation and the chain rule through x/s.
func TestDPSGuidanceIsGradientOfResidualNorm(t *testing.T) {
	lg := newLinGauss(8, 3, 1, 0.1, 11)
	step := func(scale float64) *mat.Dense {
		s := DefaultDPSSettings()
		s.Gradient, s.Members, s.Scale, s.ODE, s.Seed = Exact, 2, scale, true, 3
		s.Schedule = Schedule{Kind: "vp", Steps: 2}
		m, err := NewDPS(s)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Solve(context.Background(), lg.p, m, Options{Workers: 1, Recorder: RecorderFunc(func(si StepInfo) error {
			if si.Step == 0 {
				return errStop
			}
			return nil
		})})
		if err == nil {
			t.Fatal("run did not stop")
		}
		return res.Ensemble
	}
	const zeta = 0.3
	guided, free := step(zeta), step(0)
	s := DefaultDPSSettings()
	s.Schedule = Schedule{Kind: "vp", Steps: 2}
	d, _ := s.Schedule.discretise()
	c := newChains(2, 8, 1, 3, d.sigmaInit) // the same initial state
	phi := func(x []float64) float64 {
		xs := mat.NewDense(1, 8, nil)
		for k, v := range x {
			xs.Set(0, k, v/d.scale[0])
		}
		den := mat.NewDense(1, 8, nil)
		_ = lg.p.Prior.Denoise(context.Background(), den, xs, d.sigma[0])
		y := make([]float64, 3)
		_ = lg.a.Forward(context.Background(), y, den.RawRowView(0))
		return math.Sqrt(2 * lg.p.Misfit.Loss(y, lg.p.Observation))
	}
	for j := 0; j < 2; j++ {
		x := append([]float64(nil), c.x.RawRowView(j)...)
		for k := range x {
			h := 1e-5 * math.Max(1, math.Abs(x[k]))
			old := x[k]
			x[k] = old + h
			fp := phi(x)
			x[k] = old - h
			fm := phi(x)
			x[k] = old
			fd := (fp - fm) / (2 * h)
			got := (free.At(j, k) - guided.At(j, k)) / zeta
			if math.Abs(got-fd) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("member %d, pixel %d: guidance %v, ∇‖G(x̂0)−y‖ %v", j, k, got, fd)
			}
		}
	}
}

var errStop = stopErr{}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }
