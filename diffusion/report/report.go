// Package report measures the quality of a trained diffusion prior of periodic 2-D fields
// (the Navier–Stokes vorticity priors of `enkg prior train`) against held-out data, as the
// quality report of issue 12 asks:
//
//   - Denoising. For held-out fields x and σ = f·std (std: the pixel standard deviation of
//     the training fields, f in Settings.SigmaFactors), the mean squared error
//     MSE(σ) = E‖D(x + σε; σ) − x‖²/Dim of the network against the best stationary Gaussian
//     denoiser: the Wiener filter D(y; σ) = μ + F⁻¹[P/(P + σ²) ⊙ F(y − μ)] with the full 2-D
//     power spectrum P and the constant mean μ fitted to the training fields
//     (diffusion.FitSpectralGaussian, which is exactly that filter: P_k = E|F(x − μ)_k|²/N is
//     the per-mode variance, σ² the per-mode variance of white noise of variance σ² per pixel).
//     The same noise draws serve both denoisers (paired), with standard errors over the fields.
//     A second, stronger linear baseline keeps the mean per pixel (FitSpectralGaussian with
//     FieldMean: data whose mean is not constant, such as Kolmogorov-forced flow, are not
//     stationary). Issue 12's criterion: network MSE ≤ 0.8× Wiener at every σ in
//     [0.5, 4]·std (goal 0.5×).
//   - Samples from the prior (diffusion.Sampler with the network) next to held-out fields.
//   - The radially averaged spectrum ½|f̂|² per shell of integer |k| (spectral.Grid.EnergySpectrum;
//     the enstrophy spectrum when f is vorticity) and, for vorticity, the kinetic energy
//     spectrum E(k) = Z(k)/k², of samples against data.
//   - The pixel-value histogram (vorticity PDF) and its moments (kurtosis m₄/m₂², 3 for a
//     Gaussian) of samples against data.
//
// Run computes a Result; Result.Write writes CSV, PNG, JSON and markdown files.
package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

// Issue 12's acceptance criterion for the denoising MSE ratio network/Wiener over
// σ ∈ [CriterionLo, CriterionHi]·std.
const (
	CriterionLo, CriterionHi = 0.5, 4.0
	CriterionMax             = 0.8 // at most this ratio at every such σ
	CriterionGoal            = 0.5
)

// DefaultSigmaFactors are the noise levels σ/std of the denoising table: issue 12's
// {0.5, 1, 2, 3, 4} and levels below and above.
var DefaultSigmaFactors = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 8, 16}

// DefaultSteps is the number of Heun steps of the default sampler (2·64 − 1 = 127 network
// evaluations per sample). Fewer steps bias the statistics this report compares: on the
// exact prior of a 16² GRF (α 2.5, τ 7), EDM's 18 Heun steps give samples whose shell
// spectrum is 9–16% too large (32 steps: 2–4%, 64 steps: ≤ 0.5%, as the direct samples).
const DefaultSteps = 64

// Settings configure Run. Zero values take the defaults.
type Settings struct {
	// Nx, Ny: the grid; every field is a row of Nx·Ny values, row-major (Nx rows of Ny),
	// as the (N, Nx, Ny) arrays of `enkg data ns`. Both must be even. Required.
	Nx, Ny int
	// Length is the side of the periodic domain (default 2π) for the spectra's wavenumbers.
	Length float64
	// SigmaFactors are σ/std of the denoising table (default DefaultSigmaFactors).
	SigmaFactors []float64
	// Draws is the number of noise draws per held-out field and σ (default 1).
	Draws int
	// Samples is the number of prior samples (default 64).
	Samples int
	// Sampler draws them; nil means DefaultSteps Heun steps of the EDM formulation with
	// σ ∈ [0.002, 80]·SigmaUnit (EDM's range in model units).
	Sampler *diffusion.Sampler
	// SigmaUnit is the physical σ of a model-space σ of 1 (unet: Spec.Normalization.Std);
	// default 1.
	SigmaUnit float64
	// Vorticity adds the kinetic energy spectrum E(k) = Z(k)/k² (the fields are vorticity).
	Vorticity bool
	// Bins is the number of histogram bins (default 80) over the data's range widened by a
	// quarter of it on each side.
	Bins int
	// Shown is the number of fields and samples in the side-by-side figure (default 8;
	// negative: none).
	Shown int
	// Seed selects the noise draws and the samples.
	Seed uint64
	// Progress receives one line per stage (nil: none).
	Progress io.Writer
}

// DenoiseRow is one noise level of the denoising table. MSEs are per pixel, in squared
// physical units; SE are standard errors over the held-out fields.
type DenoiseRow struct {
	Factor, Sigma         float64
	Network, NetworkSE    float64
	Wiener, WienerSE      float64
	Ratio, RatioSE        float64 // Network/Wiener (delta-method SE, paired)
	WienerField           float64 // Wiener filter with a mean per pixel
	RatioField            float64 // Network/WienerField
	InCriterion           bool    // σ/std within [CriterionLo, CriterionHi]
	NetworkRel, WienerRel float64 // MSE/std²
}

// Moments are pooled moments of every pixel of a set of fields.
type Moments struct {
	Count                         int
	Mean, Std, Skewness, Kurtosis float64 // kurtosis m₄/m₂² (3 for a Gaussian)
}

// Histogram is a probability density on common bins.
type Histogram struct {
	Edges         []float64 // Bins+1 edges
	Data, Samples []float64 // densities (integrate to the fraction inside the range)
	// DataOutside and SamplesOutside are the fractions of values outside the edges.
	DataOutside, SamplesOutside float64
}

// Spectrum holds shell-averaged spectra, index s = shell of integer |k| (0 … Nx/2·√2).
type Spectrum struct {
	K                 []float64 // |κ| of the shell: s·2π/Length
	Data, Samples     []float64 // ½|f̂|² per shell, averaged over fields
	DataKE, SamplesKE []float64 // Z/|κ|² (Vorticity only; 0 at s = 0)
	LogRatio          float64   // mean |log10(Samples/Data)| over shells 1 … min(Nx,Ny)/3
}

// Result is the quality report.
type Result struct {
	Nx, Ny                     int
	TrainFields, HeldOutFields int
	TrainStd, HeldOutStd       float64
	Denoise                    []DenoiseRow
	// MaxRatio is the largest Network/Wiener ratio over the criterion's σ range (NaN if none
	// of SigmaFactors is inside it); Pass: MaxRatio ≤ CriterionMax, Goal: ≤ CriterionGoal.
	MaxRatio   float64
	Pass, Goal bool
	// SamplesX holds the prior samples (one per row, physical units); Shown the held-out
	// fields drawn beside them.
	SamplesX                   *mat.Dense
	Shown                      *mat.Dense
	DataMoments, SampleMoments Moments
	Histogram                  Histogram
	Spectrum                   Spectrum
	Sampler                    string
	Seed                       uint64
	// Wiener is the fitted stationary Wiener filter (constant mean), the baseline.
	Wiener *diffusion.SpectralGaussian
	show   int // samples shown
}

func (s *Settings) defaults() error {
	if s.Nx <= 0 || s.Ny <= 0 || s.Nx%2 != 0 || s.Ny%2 != 0 {
		return fmt.Errorf("%w: report: grid %d×%d: need even positive sizes", diffusion.ErrDim, s.Nx, s.Ny)
	}
	if s.Length == 0 {
		s.Length = 2 * math.Pi
	}
	if len(s.SigmaFactors) == 0 {
		s.SigmaFactors = DefaultSigmaFactors
	}
	if s.Draws == 0 {
		s.Draws = 1
	}
	if s.Samples == 0 {
		s.Samples = 64
	}
	if s.SigmaUnit == 0 {
		s.SigmaUnit = 1
	}
	if s.Bins == 0 {
		s.Bins = 80
	}
	if s.Shown == 0 {
		s.Shown = 8
	}
	switch {
	case !(s.Length > 0) || math.IsInf(s.Length, 0):
		return fmt.Errorf("%w: report: domain length %v", diffusion.ErrParam, s.Length)
	case s.Draws < 1 || s.Samples < 1 || s.Bins < 1:
		return fmt.Errorf("%w: report: draws %d, samples %d, bins %d", diffusion.ErrParam, s.Draws, s.Samples, s.Bins)
	case !(s.SigmaUnit > 0) || math.IsInf(s.SigmaUnit, 0):
		return fmt.Errorf("%w: report: sigma unit %v", diffusion.ErrParam, s.SigmaUnit)
	}
	for _, f := range s.SigmaFactors {
		if !(f > 0) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: report: σ factor %v must be finite and > 0", diffusion.ErrParam, f)
		}
	}
	if s.Sampler == nil {
		u := s.SigmaUnit
		s.Sampler = &diffusion.Sampler{Formulation: diffusion.EDM{SigmaMin: 0.002 * u, SigmaMax: 80 * u, Rho: 7}, Steps: DefaultSteps, Solver: diffusion.Heun}
	}
	return nil
}

func (s *Settings) logf(format string, a ...any) {
	if s.Progress != nil {
		fmt.Fprintf(s.Progress, format+"\n", a...)
	}
}

// Run measures the prior net against train (the fields it was trained on, for the Wiener
// baseline and the field std) and heldOut (fields it has not seen), one field per row in
// physical units. net must take and return physical units (σ too).
func Run(ctx context.Context, net diffusion.Denoiser, train, heldOut *mat.Dense, s Settings) (*Result, error) {
	if err := s.defaults(); err != nil {
		return nil, err
	}
	if net == nil || train == nil || heldOut == nil {
		return nil, errors.New("report: nil network or data")
	}
	d := s.Nx * s.Ny
	if net.Dim() != d {
		return nil, fmt.Errorf("%w: report: the network takes %d values, the grid %d×%d has %d", diffusion.ErrDim, net.Dim(), s.Nx, s.Ny, d)
	}
	mt, ct := train.Dims()
	mh, ch := heldOut.Dims()
	if ct != d || ch != d {
		return nil, fmt.Errorf("%w: report: training fields of %d values, held-out of %d, want %d", diffusion.ErrDim, ct, ch, d)
	}
	if mt < 2 || mh < 1 {
		return nil, fmt.Errorf("%w: report: %d training fields (need ≥ 2), %d held-out (need ≥ 1)", diffusion.ErrDim, mt, mh)
	}
	for name, m := range map[string]*mat.Dense{"training": train, "held-out": heldOut} {
		for i, v := range m.RawMatrix().Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: report: %s field %d holds %v at index %d", diffusion.ErrNonFinite, name, i/d, v, i%d)
			}
		}
	}
	r := &Result{Nx: s.Nx, Ny: s.Ny, TrainFields: mt, HeldOutFields: mh, Seed: s.Seed}
	tm, hm := moments(train.RawMatrix().Data), moments(heldOut.RawMatrix().Data)
	r.TrainStd, r.HeldOutStd = tm.Std, hm.Std
	if !(r.TrainStd > 0) {
		return nil, fmt.Errorf("%w: report: the training fields are constant", diffusion.ErrParam)
	}

	// (a) the Wiener filters fitted to the training fields
	s.logf("report: fitting the Wiener filters to %d training fields", mt)
	wiener, err := diffusion.FitSpectralGaussian(s.Nx, s.Ny, train, diffusion.SpectralFitSettings{})
	if err != nil {
		return nil, err
	}
	wienerField, err := diffusion.FitSpectralGaussian(s.Nx, s.Ny, train, diffusion.SpectralFitSettings{FieldMean: true})
	if err != nil {
		return nil, err
	}
	r.Wiener = wiener

	// (b) denoising MSE per σ, the same noise for every denoiser and σ
	rows := mh * s.Draws
	eps := mat.NewDense(rows, d, nil)
	noiseSeed := rng.Sub(s.Seed, "report noise")
	for i := 0; i < rows; i++ {
		g := rng.Stream(noiseSeed, i)
		row := eps.RawRowView(i)
		for k := range row {
			row[k] = g.NormFloat64()
		}
	}
	y, out := mat.NewDense(rows, d, nil), mat.NewDense(rows, d, nil)
	r.MaxRatio = math.NaN()
	for _, f := range s.SigmaFactors {
		sigma := f * r.TrainStd
		for i := 0; i < rows; i++ {
			x, e, yr := heldOut.RawRowView(i%mh), eps.RawRowView(i), y.RawRowView(i)
			for k := range yr {
				yr[k] = x[k] + sigma*e[k]
			}
		}
		s.logf("report: denoising %d fields at σ = %.4g (%.3g·std)", rows, sigma, f)
		mse := func(den diffusion.Denoiser) ([]float64, error) {
			if err := den.Denoise(ctx, out, y, sigma); err != nil {
				return nil, err
			}
			per := make([]float64, mh)
			for i := 0; i < rows; i++ {
				x, o := heldOut.RawRowView(i%mh), out.RawRowView(i)
				var e float64
				for k := range o {
					e += (o[k] - x[k]) * (o[k] - x[k])
				}
				per[i%mh] += e / float64(d*s.Draws)
			}
			return per, nil
		}
		a, err := mse(net)
		if err != nil {
			return nil, fmt.Errorf("report: network at σ = %g: %w", sigma, err)
		}
		b, err := mse(wiener)
		if err != nil {
			return nil, err
		}
		c, err := mse(wienerField)
		if err != nil {
			return nil, err
		}
		row := DenoiseRow{Factor: f, Sigma: sigma, InCriterion: f >= CriterionLo-1e-12 && f <= CriterionHi+1e-12}
		row.Network, row.NetworkSE = meanSE(a)
		row.Wiener, row.WienerSE = meanSE(b)
		row.WienerField, _ = meanSE(c)
		row.Ratio = row.Network / row.Wiener
		row.RatioField = row.Network / row.WienerField
		if mh > 1 {
			dd := make([]float64, mh)
			for i := range dd {
				dd[i] = a[i] - row.Ratio*b[i]
			}
			_, se := meanSE(dd)
			row.RatioSE = se / row.Wiener
		}
		v := r.TrainStd * r.TrainStd
		row.NetworkRel, row.WienerRel = row.Network/v, row.Wiener/v
		for _, m := range []float64{row.Network, row.Wiener, row.WienerField} {
			if math.IsNaN(m) || math.IsInf(m, 0) {
				return nil, fmt.Errorf("%w: report: MSE %v at σ = %g (a non-finite denoiser output)", diffusion.ErrNonFinite, m, sigma)
			}
		}
		if row.InCriterion && !(row.Ratio <= r.MaxRatio) {
			r.MaxRatio = row.Ratio
		}
		r.Denoise = append(r.Denoise, row)
	}
	r.Pass = r.MaxRatio <= CriterionMax
	r.Goal = r.MaxRatio <= CriterionGoal

	// (c) samples
	s.logf("report: drawing %d samples (%v, %d steps)", s.Samples, s.Sampler.Solver, s.Sampler.Steps)
	r.SamplesX = mat.NewDense(s.Samples, d, nil)
	if err := s.Sampler.Sample(ctx, r.SamplesX, net, rng.Sub(s.Seed, "report samples")); err != nil {
		return nil, fmt.Errorf("report: sampling: %w", err)
	}
	for i, v := range r.SamplesX.RawMatrix().Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: report: sample %d holds %v at index %d", diffusion.ErrNonFinite, i/d, v, i%d)
		}
	}
	r.Sampler = fmt.Sprintf("%v, %d steps, %T %+v", s.Sampler.Solver, s.Sampler.Steps, s.Sampler.Formulation, s.Sampler.Formulation)
	r.show = max(s.Shown, 0)
	if n := min(s.Shown, mh); n > 0 {
		r.Shown = mat.DenseCopyOf(heldOut.Slice(0, n, 0, d))
	}

	// (d) spectra
	s.logf("report: spectra and histograms")
	grid, err := spectral.NewGrid(s.Nx, s.Ny, s.Length, s.Length)
	if err != nil {
		return nil, err
	}
	sp := &r.Spectrum
	if sp.Data, err = meanSpectrum(grid, heldOut); err != nil {
		return nil, err
	}
	if sp.Samples, err = meanSpectrum(grid, r.SamplesX); err != nil {
		return nil, err
	}
	dk := 2 * math.Pi / s.Length
	sp.K = make([]float64, len(sp.Data))
	for i := range sp.K {
		sp.K[i] = float64(i) * dk
	}
	if s.Vorticity {
		sp.DataKE, sp.SamplesKE = make([]float64, len(sp.Data)), make([]float64, len(sp.Data))
		for i := 1; i < len(sp.K); i++ {
			sp.DataKE[i] = sp.Data[i] / (sp.K[i] * sp.K[i])
			sp.SamplesKE[i] = sp.Samples[i] / (sp.K[i] * sp.K[i])
		}
	}
	kmax, nlr := min(s.Nx, s.Ny)/3, 0
	for i := 1; i <= kmax && i < len(sp.Data); i++ {
		if sp.Data[i] > 0 && sp.Samples[i] > 0 {
			sp.LogRatio += math.Abs(math.Log10(sp.Samples[i] / sp.Data[i]))
			nlr++
		}
	}
	if nlr > 0 {
		sp.LogRatio /= float64(nlr)
	}

	// (e) histogram and moments
	r.DataMoments, r.SampleMoments = hm, moments(r.SamplesX.RawMatrix().Data)
	r.Histogram = histogram(heldOut.RawMatrix().Data, r.SamplesX.RawMatrix().Data, s.Bins)
	return r, nil
}

// meanSE returns the mean of v and its standard error.
func meanSE(v []float64) (mean, se float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1) / float64(len(v)))
}

// moments returns pooled moments of v.
func moments(v []float64) Moments {
	m := Moments{Count: len(v)}
	for _, x := range v {
		m.Mean += x
	}
	m.Mean /= float64(len(v))
	var m2, m3, m4 float64
	for _, x := range v {
		d := x - m.Mean
		d2 := d * d
		m2 += d2
		m3 += d2 * d
		m4 += d2 * d2
	}
	n := float64(len(v))
	m2, m3, m4 = m2/n, m3/n, m4/n
	m.Std = math.Sqrt(m2)
	if m2 > 0 {
		m.Skewness = m3 / math.Pow(m2, 1.5)
		m.Kurtosis = m4 / (m2 * m2)
	}
	return m
}

// meanSpectrum averages the shell spectrum ½|f̂|² of the rows of f.
func meanSpectrum(g *spectral.Grid, f *mat.Dense) ([]float64, error) {
	plan, err := spectral.NewPlan(g.Nx, g.Ny)
	if err != nil {
		return nil, err
	}
	n, _ := f.Dims()
	F := make([]complex128, g.Nx*g.NyHalf)
	e, sum := make([]float64, g.NumShells()), make([]float64, g.NumShells())
	for i := 0; i < n; i++ {
		plan.Forward(F, f.RawRowView(i))
		g.EnergySpectrum(e, F)
		for k, v := range e {
			sum[k] += v / float64(n)
		}
	}
	return sum, nil
}

// histogram bins data and samples on the data's range widened by a quarter on each side.
func histogram(data, samples []float64, bins int) Histogram {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range data {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if !(hi > lo) {
		lo, hi = lo-0.5, hi+0.5
	}
	w := hi - lo
	lo, hi = lo-w/4, hi+w/4
	h := Histogram{Edges: make([]float64, bins+1)}
	for i := range h.Edges {
		h.Edges[i] = lo + (hi-lo)*float64(i)/float64(bins)
	}
	bw := (hi - lo) / float64(bins)
	count := func(v []float64) ([]float64, float64) {
		c := make([]float64, bins)
		out := 0
		for _, x := range v {
			b := int(math.Floor((x - lo) / bw))
			if b == bins && x <= hi {
				b = bins - 1
			}
			if b < 0 || b >= bins {
				out++
				continue
			}
			c[b]++
		}
		for i := range c {
			c[i] /= float64(len(v)) * bw
		}
		return c, float64(out) / float64(len(v))
	}
	h.Data, h.DataOutside = count(data)
	h.Samples, h.SamplesOutside = count(samples)
	return h
}
