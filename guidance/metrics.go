package guidance

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/operator"
)

// RelL2 returns the relative L2 error ‖x − truth‖₂ / ‖truth‖₂ (the paper's Navier–Stokes
// metric). It returns an error for different lengths or a zero truth.
func RelL2(x, truth []float64) (float64, error) {
	if len(x) != len(truth) {
		return 0, fmt.Errorf("guidance: RelL2 lengths %d and %d: %w", len(x), len(truth), operator.ErrDim)
	}
	var num, den float64
	for i, t := range truth {
		d := x[i] - t
		num += d * d
		den += t * t
	}
	if den == 0 {
		return 0, fmt.Errorf("guidance: RelL2 of a zero truth")
	}
	return math.Sqrt(num / den), nil
}

// DataMisfit returns Loss(G(x), y) for one field (one forward evaluation on op).
func DataMisfit(ctx context.Context, op operator.Operator, m operator.Misfit, x, y []float64) (float64, error) {
	if m == nil {
		m = operator.Gaussian{Sigma: 1}
	}
	pred := make([]float64, op.OutputDim())
	if err := op.Forward(ctx, pred, x); err != nil {
		return 0, err
	}
	if len(y) != len(pred) {
		return 0, fmt.Errorf("guidance: observation length %d, model output %d: %w", len(y), len(pred), operator.ErrDim)
	}
	return m.Loss(pred, y), nil
}

// Metric is an image metric of an estimate against the truth (higher or lower is better as
// its name says). PSNR and SSIM (package imaging), blurred PSNR and the black-hole closure χ²
// (package interferometry) live with their packages; plug them in through Evaluate's extra
// argument (enkg solve does).
type Metric func(estimate, truth []float64) (float64, error)

// Evaluate fills r.Metrics with "rel_l2" of the ensemble mean against truth and with each
// extra metric (name → function) of the mean.
func (r *Result) Evaluate(truth []float64, extra map[string]Metric) error {
	if r.Metrics == nil {
		r.Metrics = map[string]float64{}
	}
	v, err := RelL2(r.Mean, truth)
	if err != nil {
		return err
	}
	r.Metrics["rel_l2"] = v
	for name, f := range extra {
		v, err := f(r.Mean, truth)
		if err != nil {
			return fmt.Errorf("guidance: metric %s: %w", name, err)
		}
		r.Metrics[name] = v
	}
	return nil
}
