package figures

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/enkg-go/enkg/internal/atomicfile"
)

// Series is one named curve of a line plot.
type Series struct {
	Name string
	X, Y []float64
}

// Lines describes a line plot (convergence or cost curves).
type Lines struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	Series                []Series
}

// WritePNG draws the plot as a PNG to w.
func (l Lines) WritePNG(w io.Writer) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = l.Title, l.XLabel, l.YLabel
	p.X.Tick.Marker, p.Y.Tick.Marker = exactTicks{}, exactTicks{}
	if l.LogX {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	if l.LogY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	var args []any
	for _, s := range l.Series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("figures: series %q has %d x and %d y values", s.Name, len(s.X), len(s.Y))
		}
		pts := make(plotter.XYs, 0, len(s.X))
		for i := range s.X {
			x, y := s.X[i], s.Y[i]
			if math.IsNaN(x) || math.IsNaN(y) || (l.LogX && x <= 0) || (l.LogY && y <= 0) {
				continue // not drawable on this scale
			}
			pts = append(pts, plotter.XY{X: x, Y: y})
		}
		args = append(args, s.Name, pts)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return fmt.Errorf("figures: %w", err)
	}
	p.Legend.Top = true
	wt, err := p.WriterTo(14*vg.Centimeter, 10*vg.Centimeter, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

// Save writes the PNG to path, atomically (see SaveField).
func (l Lines) Save(path string) error {
	return atomicfile.WriteFile(path, l.WritePNG)
}
