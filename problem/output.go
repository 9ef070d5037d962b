package problem

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/figures"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/internal/atomicfile"
	"gonum.org/v1/gonum/mat"
)

// Files are the outputs Save writes, config.yaml last.
var Files = []string{"ensemble.npy", "mean.npy", "std.npy", "truth.npy", "observation.npy", "truth.png", "observation.png",
	"mean.png", "std.png", "error.png", "interval.png", "calibration.png", "metrics.json", "config.yaml"}

// Save writes a result (physical units) into dir: ensemble.npy (J, n, n), mean.npy,
// std.npy, truth.npy, observation.npy, PNG figures, metrics.json (complete: whether the run
// finished) and, last, config.yaml — the fully resolved configuration, so that a directory
// with a config.yaml holds the results of exactly that configuration.
func (p *Problem) Save(dir string, res *guidance.Result, complete bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, _ := res.Ensemble.Dims()
	shape := p.Shape
	ens := res.Ensemble
	if err := datasets.SaveNPY(filepath.Join(dir, "ensemble.npy"), append([]int{j}, shape...), denseData(ens)); err != nil {
		return err
	}
	for _, f := range []struct {
		name  string
		shape []int
		data  []float64
	}{{"mean.npy", shape, res.Mean}, {"std.npy", shape, res.Std}, {"truth.npy", shape, p.Truth}, {"observation.npy", p.ObsShape, p.Observation}} {
		if f.data == nil {
			continue
		}
		if err := datasets.SaveNPY(filepath.Join(dir, f.name), f.shape, f.data); err != nil {
			return err
		}
	}
	if err := p.figures(dir, res); err != nil {
		return err
	}
	sum := res.Summary()
	sum.Complete = complete
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "metrics.json"), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}); err != nil {
		return err
	}
	y, err := p.Config.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "config.yaml"), func(w io.Writer) error {
		_, err := w.Write(y)
		return err
	})
}

func denseData(m interface {
	Dims() (int, int)
	At(i, j int) float64
}) []float64 {
	r, c := m.Dims()
	out := make([]float64, 0, r*c)
	for i := 0; i < r; i++ {
		for k := 0; k < c; k++ {
			out = append(out, m.At(i, k))
		}
	}
	return out
}

// figures writes truth, observation (gridded), mean, std and error PNGs: diverging maps for
// signed fields, afmhot on [0, 1] for images (blackhole).
func (p *Problem) figures(dir string, res *guidance.Result) error {
	n0, n1 := p.Shape[0], p.Shape[1]
	mean, std := res.Mean, res.Std
	ref := p.Truth
	if ref == nil {
		ref = mean
	}
	field := figures.Options{Colormap: figures.Diverging}
	if p.ImageUnits {
		field = figures.Options{Colormap: figures.Afmhot}
	}
	lo, hi := figures.Options{Symmetric: !p.ImageUnits}.Range(ref)
	if p.ImageUnits {
		lo, hi = 0, math.Max(1, hi)
	}
	field.Min, field.Max = lo, hi
	clip := func(x []float64) []float64 {
		c := make([]float64, len(x))
		for i, v := range x {
			c[i] = math.Max(lo, math.Min(hi, v))
		}
		return c
	}
	type fig struct {
		name  string
		f     []float64
		r, c  int
		title string
		opt   figures.Options
	}
	figs := []fig{
		{"mean", clip(mean), n0, n1, fmt.Sprintf("%s mean", res.Method), field},
		{"std", std, n0, n1, "ensemble std", figures.Options{Colormap: figures.Viridis}},
	}
	if v, ok := res.Metrics["rel_l2"]; ok {
		figs[0].title = fmt.Sprintf("%s mean (rel. L2 %.3f)", res.Method, v)
	}
	if p.Truth != nil {
		e := make([]float64, len(mean))
		for i := range e {
			e[i] = mean[i] - p.Truth[i]
		}
		figs = append(figs, fig{"truth", clip(p.Truth), n0, n1, "truth", field},
			fig{"error", e, n0, n1, "mean − truth", figures.Options{Colormap: figures.Diverging, Symmetric: true}})
	}
	if len(p.ObsShape) == 2 && p.Observation != nil {
		figs = append(figs, fig{"observation", p.Observation, p.ObsShape[0], p.ObsShape[1], "observation", figures.Options{Colormap: figures.Diverging, Symmetric: true}})
	}
	for _, fg := range figs {
		fg.opt.Title = fg.title
		if err := figures.SaveField(filepath.Join(dir, fg.name+".png"), fg.f, fg.r, fg.c, fg.opt); err != nil {
			return fmt.Errorf("figure %s: %w", fg.name, err)
		}
	}
	if err := p.intervalFigure(filepath.Join(dir, "interval.png"), res); err != nil {
		return err
	}
	return p.calibrationFigure(filepath.Join(dir, "calibration.png"), res)
}

// CalibrationLevels are the nominal levels of calibration.png.
var CalibrationLevels = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99}

// calibrationFigure draws the coverage of the truth by the ensemble's central interval of
// each nominal level of CalibrationLevels (the metrics coverage_L that Evaluate writes for
// an ensemble of at least 2 members and a truth; no figure without them) against the level:
// the diagonal for a calibrated sampler, below it for an over-confident one.
func (p *Problem) calibrationFigure(path string, res *guidance.Result) error {
	emp := make([]float64, len(CalibrationLevels))
	for i, level := range CalibrationLevels {
		v, ok := res.Metrics[coverageKey(level)]
		if !ok {
			return nil
		}
		emp[i] = v
	}
	l := figures.Lines{Title: fmt.Sprintf("%s: coverage of the truth by central intervals", res.Method),
		XLabel: "nominal level", YLabel: "fraction of pixels covered", Series: []figures.Series{
			{Name: "ideal", X: []float64{0, 1}, Y: []float64{0, 1}}, {Name: res.Method, X: CalibrationLevels, Y: emp}}}
	if err := l.Save(path); err != nil {
		return fmt.Errorf("figure calibration: %w", err)
	}
	return nil
}

// intervalFigure draws, along the middle row of the field (row n0/2), the truth, the
// ensemble mean and the central 90 % interval of the ensemble (its 5 % and 95 % quantiles,
// as coverage_90 counts them). Ensembles of fewer than 2 members get no figure.
func (p *Problem) intervalFigure(path string, res *guidance.Result) error {
	if res.Ensemble == nil {
		return nil
	}
	j, _ := res.Ensemble.Dims()
	if j < 2 {
		return nil
	}
	n0, n1 := p.Shape[0], p.Shape[1]
	row := n0 / 2
	// Only the row's pixels are sorted.
	lo, hi, err := guidance.CredibleInterval(res.Ensemble.Slice(0, j, row*n1, (row+1)*n1).(*mat.Dense), 0.9)
	if err != nil {
		return err
	}
	xs := make([]float64, n1)
	for i := range xs {
		xs[i] = float64(i)
	}
	line := func(f []float64) []float64 { return append([]float64(nil), f[row*n1:(row+1)*n1]...) }
	title := fmt.Sprintf("%s: 90 %% interval along row %d", res.Method, row)
	if v, ok := res.Metrics["coverage_90"]; ok {
		title += fmt.Sprintf(" (coverage of all pixels %.2f)", v)
	}
	l := figures.Lines{Title: title, XLabel: "column", YLabel: "value", Series: []figures.Series{
		{Name: "mean", X: xs, Y: line(res.Mean)}, {Name: "5 % quantile", X: xs, Y: lo}, {Name: "95 % quantile", X: xs, Y: hi}}}
	if p.Truth != nil {
		l.Series = append([]figures.Series{{Name: "truth", X: xs, Y: line(p.Truth)}}, l.Series...)
	}
	if err := l.Save(path); err != nil {
		return fmt.Errorf("figure interval: %w", err)
	}
	return nil
}
