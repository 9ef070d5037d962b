package problem

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/imaging"
	"github.com/enkg-go/enkg/interferometry"
	"github.com/enkg-go/enkg/rng"
)

// bhNative is the input space of interferometry.BlackHole: x ∈ [−1, 1] with image units
// (x + 1)/2.
var bhNative = diffusion.Affine{Scale: 0.5, Shift: 0.5}

// buildBlackHole builds the black-hole imaging problem of the EnKG paper: an n×n image (FOV
// fov_uas) observed by an array on the EHT 2017 M87 schedule, data = amplitudes, minimal
// closure phases and log closure amplitudes and the flux, the published misfit weights.
// Physical units are image units: a generated truth, or the image of truth.file (in any
// brightness units, e.g. Jy per pixel), is normalised to peak 1, and its peak is the operator's
// multiplier (the thermal noise is the array's σ in Jy divided by it). gmm and empirical priors are fitted to generated
// ring/crescent images in the space x = 2·image − 1 (normalisation scale 0.5, shift 0.5).
func buildBlackHole(ctx context.Context, c Config) (*Problem, error) {
	pr0, pc := c.Problem, c.Prior
	n := pr0.Size
	g, err := interferometry.NewGrid(n, pr0.FOV)
	if err != nil {
		return nil, fmt.Errorf("problem: %w", err)
	}
	arr, err := interferometry.LoadArray(pr0.Array)
	if err != nil {
		return nil, fmt.Errorf("problem: %w", err)
	}
	obs, err := interferometry.Observe(arr, interferometry.DefaultSettings())
	if err != nil {
		return nil, fmt.Errorf("problem: %w", err)
	}
	gen := func(dst []float64, seed uint64, j int) (float64, error) {
		if err := interferometry.RandomImage(dst, g, interferometry.GeneratorSettings{}, rng.Stream(seed, j)); err != nil {
			return 0, err
		}
		mx := 0.0
		for _, v := range dst {
			mx = math.Max(mx, v)
		}
		if !(mx > 0) {
			return 0, fmt.Errorf("generated image %d is empty", j)
		}
		for i := range dst {
			dst[i] /= mx
		}
		return mx, nil
	}
	// Prior.
	var pr *Prior
	switch pc.Kind {
	case "gmm", "empirical":
		if pc.Samples < 2 {
			return nil, fmt.Errorf("%w: prior: %d generated samples: need at least 2", ErrConfig, pc.Samples)
		}
		norm := defaultNorm(c)
		data := mat.NewDense(pc.Samples, n*n, nil)
		ps := rng.Sub(c.Seed, "prior-data")
		for j := 0; j < pc.Samples; j++ {
			row := data.RawRowView(j)
			if _, err := gen(row, ps, j); err != nil {
				return nil, fmt.Errorf("prior: %w", err)
			}
			norm.ToNormalised(row, row)
		}
		var ex diffusion.Prior
		if pc.Kind == "gmm" {
			gm, _, err := diffusion.FitGMM(ctx, data, pc.Components, diffusion.GMMFitSettings{Diagonal: pc.Diagonal, Seed: ps, Workers: c.Workers})
			if err != nil {
				return nil, fmt.Errorf("prior: %w", err)
			}
			gm.Norm = norm
			ex = gm
		} else {
			e, err := diffusion.NewEmpirical(data, diffusion.EmpiricalSettings{})
			if err != nil {
				return nil, fmt.Errorf("prior: %w", err)
			}
			e.Norm = norm
			ex = e
		}
		pr = exactPrior(ex)
	default:
		if pr, err = buildPrior(ctx, c, n, n); err != nil {
			return nil, fmt.Errorf("prior: %w", err)
		}
	}
	// Truth (image units).
	p := &Problem{Shape: []int{n, n}, Prior: pr, Metrics: map[string]guidance.Metric{}, ImageUnits: true}
	multiplier := 1.0
	switch src := c.truthSource("generated"); src {
	case "generated":
		p.Truth = make([]float64, n*n)
		if multiplier, err = gen(p.Truth, rng.Sub(c.Truth.Seed, "truth"), c.Truth.Index); err != nil {
			return nil, fmt.Errorf("truth: %w", err)
		}
	case "file":
		// Any brightness units (Jy per pixel, say): normalised to peak 1, the peak sets the
		// thermal noise through the operator's multiplier, as for a generated truth.
		if p.Truth, err = loadField("truth", c.Truth.File, []int{n, n}); err != nil {
			return nil, err
		}
		mx := 0.0
		for _, v := range p.Truth {
			mx = math.Max(mx, v)
		}
		if !(mx > 0) {
			return nil, fmt.Errorf("%w: truth %s has no positive pixel", ErrConfig, c.Truth.File)
		}
		t := make([]float64, len(p.Truth))
		for i, v := range p.Truth {
			t[i] = v / mx
		}
		p.Truth, multiplier = t, mx
	default:
		if p.Truth, err = gridTruth(ctx, c, pr, n, src, nil); err != nil {
			return nil, err
		}
	}
	bh, err := interferometry.NewBlackHole(obs, g, interferometry.BlackHoleSettings{Multiplier: multiplier})
	if err != nil {
		return nil, fmt.Errorf("problem: %w", err)
	}
	var meas *interferometry.Measurement
	if c.Observation.File != "" {
		return nil, fmt.Errorf("%w: observation.file for blackhole: the closure data need the visibilities (use `enkg eht` with a truth image)", ErrConfig)
	}
	x := make([]float64, n*n)
	bhNative.ToNormalised(x, p.Truth)
	var r = rng.New(NoiseSeed(c.Truth.Seed, c.Truth.Index))
	if !pr0.ThermalNoise {
		r = nil
	}
	if meas, err = bh.Measure(x, r); err != nil {
		return nil, fmt.Errorf("observation: %w", err)
	}
	p.Observation = meas.Y
	p.ObsShape = []int{len(meas.Y)}
	mf, err := interferometry.NewBlackHoleMisfit(bh.Layout(), meas, interferometry.PublishedWeights)
	if err != nil {
		return nil, fmt.Errorf("observation: %w", err)
	}
	p.Guidance = &guidance.Problem{Observation: p.Observation, Forward: normalisedFactory(bh.Factory(), compose(pr.Norm, bhNative)),
		Misfit: mf, Prior: pr.Denoiser, Sampler: pr.Sampler}
	// Metrics on image units (the published evaluator's).
	p.Metrics["chi2_cphase"] = func(est, _ []float64) (float64, error) {
		c, _, err := bh.ClosureChiSq(est, meas, true)
		return c, err
	}
	p.Metrics["chi2_logcamp"] = func(est, _ []float64) (float64, error) {
		_, c, err := bh.ClosureChiSq(est, meas, true)
		return c, err
	}
	for _, f := range []float64{10, 15, 20} {
		f := f
		p.Metrics[fmt.Sprintf("blurred_psnr_%g", f)] = func(est, truth []float64) (float64, error) {
			_, al, err := interferometry.AlignedPSNR(truth, est, g)
			if err != nil {
				return 0, err
			}
			return interferometry.BlurredPSNR(truth, al, g, f)
		}
	}
	p.Metrics["psnr"] = func(est, truth []float64) (float64, error) { return imaging.PSNR(est, truth, 1) }
	p.Metrics["ssim"] = func(est, truth []float64) (float64, error) {
		return imaging.SSIM(est, truth, imaging.Shape{C: 1, H: n, W: n}, 1)
	}
	p.Metrics["psnr_aligned"] = func(est, truth []float64) (float64, error) {
		v, _, err := interferometry.AlignedPSNR(truth, est, g)
		return v, err
	}
	return p, nil
}
