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

// PSNR returns the peak signal-to-noise ratio 10·log10(R² / MSE) in dB for the data range R
// (max − min of the truth when dataRange ≤ 0). It is +Inf for a perfect estimate.
func PSNR(x, truth []float64, dataRange float64) (float64, error) {
	if len(x) != len(truth) || len(x) == 0 {
		return 0, fmt.Errorf("guidance: PSNR lengths %d and %d: %w", len(x), len(truth), operator.ErrDim)
	}
	if dataRange <= 0 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, t := range truth {
			lo, hi = math.Min(lo, t), math.Max(hi, t)
		}
		dataRange = hi - lo
	}
	if dataRange <= 0 {
		return 0, fmt.Errorf("guidance: PSNR of a constant truth needs a data range")
	}
	var mse float64
	for i, t := range truth {
		d := x[i] - t
		mse += d * d
	}
	mse /= float64(len(x))
	return 10 * math.Log10(dataRange*dataRange/mse), nil
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
// its name says). SSIM, blurred PSNR and the black-hole closure χ² live with the imaging and
// interferometry packages; plug them in here through Evaluate's extra argument.
type Metric func(estimate, truth []float64) (float64, error)

// Evaluate fills r.Metrics with "rel_l2" and "psnr" of the ensemble mean against truth, and
// with each extra metric (name → function) of the mean.
func (r *Result) Evaluate(truth []float64, extra map[string]Metric) error {
	if r.Metrics == nil {
		r.Metrics = map[string]float64{}
	}
	v, err := RelL2(r.Mean, truth)
	if err != nil {
		return err
	}
	r.Metrics["rel_l2"] = v
	if p, err := PSNR(r.Mean, truth, 0); err == nil {
		r.Metrics["psnr"] = p
	}
	for name, f := range extra {
		v, err := f(r.Mean, truth)
		if err != nil {
			return fmt.Errorf("guidance: metric %s: %w", name, err)
		}
		r.Metrics[name] = v
	}
	return nil
}
