package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/figures"
	"github.com/enkg-go/enkg/internal/atomicfile"
)

// Files are the files Write creates in its directory, report.md last.
var Files = []string{"denoise.csv", "denoise.md", "denoise.png", "samples.png", "samples.npy",
	"spectrum.csv", "spectrum.png", "histogram.csv", "histogram.png", "wiener.npz", "report.json", "report.md"}

// Write writes the report into dir (created if absent): denoise.csv / .md / .png (MSE per σ,
// network against the Wiener filters), samples.png (held-out fields, top row, above prior
// samples, bottom row, on one symmetric colour scale), samples.npy (the samples, physical
// units, (N, Nx, Ny)), spectrum.csv / .png, histogram.csv / .png, wiener.npz (the fitted
// stationary Wiener filter as a prior file, diffusion.LoadPrior), report.json (every
// number) and, last, report.md (the summary, linking the rest). Every file is written
// atomically; title heads report.md.
func (r *Result) Write(dir, title string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range Files {
		if err := atomicfile.CheckOutput(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	steps := []func() error{
		func() error { return atomicfile.WriteFile(p("denoise.csv"), r.writeDenoiseCSV) },
		func() error {
			return atomicfile.WriteFile(p("denoise.md"), func(w io.Writer) error { _, err := io.WriteString(w, r.denoiseTable()); return err })
		},
		r.denoisePlot(p("denoise.png")).func0,
		func() error { return r.saveMontage(p("samples.png")) },
		func() error {
			n, _ := r.SamplesX.Dims()
			return datasets.SaveNPY(p("samples.npy"), []int{n, r.Nx, r.Ny}, r.SamplesX.RawMatrix().Data)
		},
		func() error { return atomicfile.WriteFile(p("spectrum.csv"), r.writeSpectrumCSV) },
		r.spectrumPlot(p("spectrum.png")).func0,
		func() error { return atomicfile.WriteFile(p("histogram.csv"), r.writeHistogramCSV) },
		func() error { return diffusion.SavePrior(p("wiener.npz"), r.Wiener) },
		r.histogramPlot(p("histogram.png")).func0,
		func() error {
			b, err := json.MarshalIndent(r.summary(), "", " ")
			if err != nil {
				return err
			}
			return atomicfile.WriteFile(p("report.json"), func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
		},
		func() error {
			return atomicfile.WriteFile(p("report.md"), func(w io.Writer) error { _, err := io.WriteString(w, r.Markdown(title)); return err })
		},
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// plotJob saves a line plot.
type plotJob struct {
	l    figures.Lines
	path string
}

func (j plotJob) func0() error { return j.l.Save(j.path) }

func fmtG(v float64) string { return fmt.Sprintf("%.6g", v) }

func (r *Result) writeDenoiseCSV(w io.Writer) error {
	var b strings.Builder
	b.WriteString("sigma_over_std,sigma,mse_network,se_network,mse_wiener,se_wiener,ratio,ratio_se,mse_wiener_pixel_mean,ratio_pixel_mean,mse_network_over_var,mse_wiener_over_var,in_criterion\n")
	for _, d := range r.Denoise {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%t\n", fmtG(d.Factor), fmtG(d.Sigma), fmtG(d.Network), fmtG(d.NetworkSE),
			fmtG(d.Wiener), fmtG(d.WienerSE), fmtG(d.Ratio), fmtG(d.RatioSE), fmtG(d.WienerField), fmtG(d.RatioField),
			fmtG(d.NetworkRel), fmtG(d.WienerRel), d.InCriterion)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// denoiseTable is the markdown table of the denoising MSEs.
func (r *Result) denoiseTable() string {
	var b strings.Builder
	b.WriteString("| σ/std | σ | MSE network | MSE Wiener | network/Wiener | MSE Wiener (pixel mean) | network/that |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, d := range r.Denoise {
		mark := ""
		if d.InCriterion {
			mark = " ✗"
			if d.Ratio <= CriterionMax {
				mark = " ✓"
			}
		}
		fmt.Fprintf(&b, "| %.3g | %.4g | %.4g ± %.2g | %.4g ± %.2g | **%.3f** ± %.3f%s | %.4g | %.3f |\n", d.Factor, d.Sigma,
			d.Network, d.NetworkSE, d.Wiener, d.WienerSE, d.Ratio, d.RatioSE, mark, d.WienerField, d.RatioField)
	}
	return b.String()
}

func (r *Result) denoisePlot(path string) plotJob {
	var f, n, w, wf, ra []float64
	for _, d := range r.Denoise {
		f, n, w, wf, ra = append(f, d.Factor), append(n, d.NetworkRel), append(w, d.WienerRel), append(wf, d.WienerField/(r.TrainStd*r.TrainStd)), append(ra, d.Ratio)
	}
	return plotJob{figures.Lines{Title: "Denoising MSE / field variance (held-out fields)", XLabel: "σ / field std", YLabel: "MSE / std²",
		LogX: true, LogY: true, Series: []figures.Series{{Name: "network", X: f, Y: n}, {Name: "Wiener (stationary)", X: f, Y: w},
			{Name: "Wiener (pixel mean)", X: f, Y: wf}, {Name: "ratio network/Wiener", X: f, Y: ra}}}, path}
}

func (r *Result) writeSpectrumCSV(w io.Writer) error {
	var b strings.Builder
	s := r.Spectrum
	b.WriteString("shell,k,data,samples")
	if s.DataKE != nil {
		b.WriteString(",data_kinetic,samples_kinetic")
	}
	b.WriteByte('\n')
	for i := range s.K {
		fmt.Fprintf(&b, "%d,%s,%s,%s", i, fmtG(s.K[i]), fmtG(s.Data[i]), fmtG(s.Samples[i]))
		if s.DataKE != nil {
			fmt.Fprintf(&b, ",%s,%s", fmtG(s.DataKE[i]), fmtG(s.SamplesKE[i]))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Result) spectrumPlot(path string) plotJob {
	// complete shells only (|k| ≤ min(Nx, Ny)/2; the corners are partial annuli)
	s := r.Spectrum
	n := min(len(s.K), min(r.Nx, r.Ny)/2+1)
	ser := []figures.Series{{Name: "data ½|f̂|²", X: s.K[1:n], Y: s.Data[1:n]}, {Name: "samples ½|f̂|²", X: s.K[1:n], Y: s.Samples[1:n]}}
	if s.DataKE != nil {
		ser = append(ser, figures.Series{Name: "data E(k) = Z/k²", X: s.K[1:n], Y: s.DataKE[1:n]}, figures.Series{Name: "samples E(k)", X: s.K[1:n], Y: s.SamplesKE[1:n]})
	}
	return plotJob{figures.Lines{Title: "Radially averaged spectrum", XLabel: "|k|", YLabel: "per shell", LogX: true, LogY: true, Series: ser}, path}
}

func (r *Result) writeHistogramCSV(w io.Writer) error {
	var b strings.Builder
	h := r.Histogram
	b.WriteString("lo,hi,data_density,samples_density\n")
	for i := range h.Data {
		fmt.Fprintf(&b, "%s,%s,%s,%s\n", fmtG(h.Edges[i]), fmtG(h.Edges[i+1]), fmtG(h.Data[i]), fmtG(h.Samples[i]))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Result) histogramPlot(path string) plotJob {
	h := r.Histogram
	c := make([]float64, len(h.Data))
	for i := range c {
		c[i] = (h.Edges[i] + h.Edges[i+1]) / 2
	}
	return plotJob{figures.Lines{Title: fmt.Sprintf("Pixel values: kurtosis data %.3g, samples %.3g (Gaussian 3)", r.DataMoments.Kurtosis, r.SampleMoments.Kurtosis),
		XLabel: "value", YLabel: "density", LogY: true,
		Series: []figures.Series{{Name: "data", X: c, Y: h.Data}, {Name: "samples", X: c, Y: h.Samples}}}, path}
}

// saveMontage draws the shown held-out fields (top row) above as many samples (bottom
// row), each field magnified to at least 96 pixels, on one colour scale symmetric about 0
// (the largest |value| of the shown fields), blue–white–red.
func (r *Result) saveMontage(path string) error {
	ns, _ := r.SamplesX.Dims()
	nd := 0
	if r.Shown != nil {
		nd, _ = r.Shown.Dims()
	}
	cols := max(nd, min(ns, r.show))
	zoom := max(1, (96+max(r.Nx, r.Ny)-1)/max(r.Nx, r.Ny))
	const gap = 4
	th, tw := r.Nx*zoom, r.Ny*zoom
	img := image.NewRGBA(image.Rect(0, 0, cols*(tw+gap)+gap, 2*(th+gap)+gap))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	var m float64
	if r.Shown != nil {
		for _, v := range r.Shown.RawMatrix().Data {
			m = math.Max(m, math.Abs(v))
		}
	}
	if m == 0 {
		for _, v := range r.SamplesX.RawMatrix().Data {
			m = math.Max(m, math.Abs(v))
		}
	}
	if m == 0 {
		m = 1
	}
	opt := figures.Options{Colormap: figures.Diverging, Min: -m, Max: m}
	draw := func(field []float64, row, col int) error {
		tile, err := figures.Image(field, r.Nx, r.Ny, opt)
		if err != nil {
			return err
		}
		x0, y0 := gap+col*(tw+gap), gap+row*(th+gap)
		for i := 0; i < th; i++ {
			for j := 0; j < tw; j++ {
				img.SetRGBA(x0+j, y0+i, tile.RGBAAt(j/zoom, i/zoom))
			}
		}
		return nil
	}
	for c := 0; c < cols; c++ {
		if c < nd {
			if err := draw(r.Shown.RawRowView(c), 0, c); err != nil {
				return err
			}
		}
		if c < ns {
			if err := draw(r.SamplesX.RawRowView(c), 1, c); err != nil {
				return err
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err })
}

// finite returns v, or nil when v is NaN or infinite (JSON has no NaN).
func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// summary is report.json.
func (r *Result) summary() map[string]any {
	rows := make([]map[string]any, len(r.Denoise))
	for i, d := range r.Denoise {
		rows[i] = map[string]any{"sigma_over_std": d.Factor, "sigma": d.Sigma, "mse_network": finite(d.Network), "se_network": finite(d.NetworkSE),
			"mse_wiener": finite(d.Wiener), "se_wiener": finite(d.WienerSE), "ratio": finite(d.Ratio), "ratio_se": finite(d.RatioSE),
			"mse_wiener_pixel_mean": finite(d.WienerField), "ratio_pixel_mean": finite(d.RatioField), "in_criterion": d.InCriterion}
	}
	mom := func(m Moments) map[string]any {
		return map[string]any{"count": m.Count, "mean": m.Mean, "std": m.Std, "skewness": m.Skewness, "kurtosis": m.Kurtosis}
	}
	ns, _ := r.SamplesX.Dims()
	return map[string]any{
		"grid": []int{r.Nx, r.Ny}, "train_fields": r.TrainFields, "held_out_fields": r.HeldOutFields,
		"train_std": r.TrainStd, "held_out_std": r.HeldOutStd, "denoise": rows,
		"criterion": map[string]any{"sigma_over_std": []float64{CriterionLo, CriterionHi}, "max_ratio": CriterionMax, "goal_ratio": CriterionGoal,
			"worst_ratio": finite(r.MaxRatio), "pass": r.Pass, "goal": r.Goal},
		"samples": ns, "sampler": r.Sampler, "seed": r.Seed,
		"moments":                       map[string]any{"data": mom(r.DataMoments), "samples": mom(r.SampleMoments)},
		"histogram_outside":             map[string]any{"data": r.Histogram.DataOutside, "samples": r.Histogram.SamplesOutside},
		"spectrum_mean_abs_log10_ratio": r.Spectrum.LogRatio,
	}
}

// Markdown returns the report as markdown (report.md), headed by title.
func (r *Result) Markdown(title string) string {
	var b strings.Builder
	if title == "" {
		title = "Prior quality report"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	ns, _ := r.SamplesX.Dims()
	fmt.Fprintf(&b, "Grid %d×%d; %d training fields (std %.4g), %d held-out fields (std %.4g); %d samples (%s); seed %d.\n\n",
		r.Nx, r.Ny, r.TrainFields, r.TrainStd, r.HeldOutFields, r.HeldOutStd, ns, r.Sampler, r.Seed)
	b.WriteString("## Denoising against the best stationary Gaussian denoiser\n\n")
	b.WriteString("MSE per pixel of D(x + σε; σ) on the held-out fields (± standard error over fields; the same noise\n" +
		"for every denoiser). Wiener: μ + F⁻¹[P/(P + σ²)·F(y − μ)] with the 2-D power spectrum P and constant mean μ\n" +
		"fitted to the training fields; \"pixel mean\": the same with a mean per pixel (a stronger linear baseline\n" +
		"when the data are not stationary). std is the training fields' pixel standard deviation.\n\n")
	b.WriteString(r.denoiseTable())
	verdict := "**fails**"
	switch {
	case r.Goal:
		verdict = "**passes and meets the goal**"
	case r.Pass:
		verdict = "**passes**"
	}
	if math.IsNaN(r.MaxRatio) {
		fmt.Fprintf(&b, "\nNo σ in [%g, %g]·std was measured.\n\n", CriterionLo, CriterionHi)
	} else {
		fmt.Fprintf(&b, "\nWorst ratio over σ ∈ [%g, %g]·std: **%.3f** — the criterion (≤ %g at every such σ; goal ≤ %g) %s.\n\n",
			CriterionLo, CriterionHi, r.MaxRatio, CriterionMax, CriterionGoal, verdict)
	}
	b.WriteString("![denoising MSE](denoise.png)\n\n")
	b.WriteString("## Samples\n\nTop: held-out fields; bottom: prior samples (one colour scale).\n\n![samples](samples.png)\n\n")
	b.WriteString("## Spectrum\n\n")
	fmt.Fprintf(&b, "Mean |log₁₀(samples/data)| over shells 1 … %d: %.3f (spectrum.csv).\n\n![spectrum](spectrum.png)\n\n", min(r.Nx, r.Ny)/3, r.Spectrum.LogRatio)
	b.WriteString("## Pixel-value distribution\n\n| | mean | std | skewness | kurtosis (Gaussian 3) | outside the histogram |\n|---|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| data | %.4g | %.4g | %.3f | %.3f | %.2g |\n", r.DataMoments.Mean, r.DataMoments.Std, r.DataMoments.Skewness, r.DataMoments.Kurtosis, r.Histogram.DataOutside)
	fmt.Fprintf(&b, "| samples | %.4g | %.4g | %.3f | %.3f | %.2g |\n\n", r.SampleMoments.Mean, r.SampleMoments.Std, r.SampleMoments.Skewness, r.SampleMoments.Kurtosis, r.Histogram.SamplesOutside)
	b.WriteString("![histogram](histogram.png)\n")
	return b.String()
}
