// Package figures draws the PNG figures of enkg: fields as colour maps with a colour bar and a
// title, and convergence or cost curves, with gonum/plot.
//
// A field of shape (rows, cols) is drawn like matplotlib's imshow: row 0 at the top, column 0
// on the left. A colour map maps t ∈ [0, 1] to a colour; values v are mapped linearly by
// t = (v − vmin)/(vmax − vmin), clamped. Diverging data (vorticity, errors) uses a range
// symmetric about zero and a blue–white–red map; intensities (black-hole images) use afmhot.
package figures

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/enkg-go/enkg/internal/atomicfile"
)

// Colormap maps t ∈ [0, 1] to a colour.
type Colormap func(t float64) color.RGBA

func lerp(a, b uint8, t float64) uint8 {
	return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t))
}

// fromStops interpolates linearly between equally spaced colour stops.
func fromStops(stops ...color.RGBA) Colormap {
	return func(t float64) color.RGBA {
		t = math.Max(0, math.Min(1, t))
		x := t * float64(len(stops)-1)
		i := int(x)
		if i >= len(stops)-1 {
			return stops[len(stops)-1]
		}
		f := x - float64(i)
		a, b := stops[i], stops[i+1]
		return color.RGBA{lerp(a.R, b.R, f), lerp(a.G, b.G, f), lerp(a.B, b.B, f), 255}
	}
}

var (
	// Diverging is a blue–white–red map (ColorBrewer RdBu reversed) for signed fields.
	Diverging = fromStops(
		color.RGBA{5, 48, 97, 255}, color.RGBA{33, 102, 172, 255}, color.RGBA{67, 147, 195, 255},
		color.RGBA{146, 197, 222, 255}, color.RGBA{209, 229, 240, 255}, color.RGBA{247, 247, 247, 255},
		color.RGBA{253, 219, 199, 255}, color.RGBA{244, 165, 130, 255}, color.RGBA{214, 96, 77, 255},
		color.RGBA{178, 24, 43, 255}, color.RGBA{103, 0, 31, 255})
	// Viridis approximates matplotlib's viridis for non-negative quantities (spread, error magnitude).
	Viridis = fromStops(
		color.RGBA{68, 1, 84, 255}, color.RGBA{72, 40, 120, 255}, color.RGBA{62, 74, 137, 255},
		color.RGBA{49, 104, 142, 255}, color.RGBA{38, 130, 142, 255}, color.RGBA{31, 158, 137, 255},
		color.RGBA{53, 183, 121, 255}, color.RGBA{109, 205, 89, 255}, color.RGBA{180, 222, 44, 255},
		color.RGBA{253, 231, 37, 255})
	// Gray is black to white.
	Gray = fromStops(color.RGBA{0, 0, 0, 255}, color.RGBA{255, 255, 255, 255})
)

// Afmhot is matplotlib's afmhot (black → red → yellow → white), the usual black-hole map.
func Afmhot(t float64) color.RGBA {
	t = math.Max(0, math.Min(1, t))
	c := func(x float64) uint8 { return uint8(math.Round(255 * math.Max(0, math.Min(1, x)))) }
	return color.RGBA{c(2 * t), c(2*t - 0.5), c(2*t - 1), 255}
}

// Options control a field figure. The zero value draws with Viridis over the data range.
type Options struct {
	Title    string
	Colormap Colormap // default Viridis
	// Symmetric makes the range [−m, m] with m = max|v| (for Diverging maps).
	Symmetric bool
	// Min and Max fix the colour range when Min < Max; otherwise it is the data range.
	Min, Max float64
	// Size is the side of the image in centimetres (default 12).
	Size vg.Length
}

// ErrShape reports a field whose length is not rows·cols.
var ErrShape = errors.New("figures: field length does not match its shape")

// Range returns the colour range that opt gives for field.
func (opt Options) Range(field []float64) (lo, hi float64) {
	if opt.Min < opt.Max {
		return opt.Min, opt.Max
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range field {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if lo > hi {
		return 0, 1
	}
	if opt.Symmetric {
		m := math.Max(math.Abs(lo), math.Abs(hi))
		lo, hi = -m, m
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	return lo, hi
}

// Image renders field (rows×cols, row-major) as an image, one pixel per value, row 0 at the
// top. NaN pixels are drawn grey.
func Image(field []float64, rows, cols int, opt Options) (*image.RGBA, error) {
	if rows <= 0 || cols <= 0 || len(field) != rows*cols {
		return nil, fmt.Errorf("%w: len %d, shape (%d, %d)", ErrShape, len(field), rows, cols)
	}
	cm := opt.Colormap
	if cm == nil {
		cm = Viridis
	}
	lo, hi := opt.Range(field)
	img := image.NewRGBA(image.Rect(0, 0, cols, rows))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v := field[i*cols+j]
			if math.IsNaN(v) {
				img.SetRGBA(j, i, color.RGBA{128, 128, 128, 255})
				continue
			}
			img.SetRGBA(j, i, cm((v-lo)/(hi-lo)))
		}
	}
	return img, nil
}

// grid adapts a row-major field to plotter.GridXYZ with row 0 drawn at the top.
type grid struct {
	f          []float64
	rows, cols int
}

func (g grid) Dims() (c, r int)   { return g.cols, g.rows }
func (g grid) Z(c, r int) float64 { return g.f[(g.rows-1-r)*g.cols+c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }
func (g grid) valid() bool        { return g.rows > 0 && g.cols > 0 && len(g.f) == g.rows*g.cols }

// cmPalette samples a Colormap into a gonum palette.
type cmPalette []color.Color

func (p cmPalette) Colors() []color.Color { return p }

func sample(cm Colormap, n int) palette.Palette {
	p := make(cmPalette, n)
	for i := range p {
		p[i] = cm(float64(i) / float64(n-1))
	}
	return p
}

// Field writes a PNG of field (rows×cols) with a title and a colour bar to w.
func Field(w io.Writer, field []float64, rows, cols int, opt Options) error {
	g := grid{field, rows, cols}
	if !g.valid() {
		return fmt.Errorf("%w: len %d, shape (%d, %d)", ErrShape, len(field), rows, cols)
	}
	cm := opt.Colormap
	if cm == nil {
		cm = Viridis
	}
	lo, hi := opt.Range(field)
	// gonum's HeatMap leaves values outside [Min, Max] transparent: clamp them instead.
	clamped := make([]float64, len(field))
	for i, v := range field {
		clamped[i] = v
		if v < lo {
			clamped[i] = lo
		} else if v > hi {
			clamped[i] = hi
		}
	}
	g.f = clamped
	pal := sample(cm, 256)
	p := plot.New()
	p.Title.Text = opt.Title
	p.HideAxes()
	hm := plotter.NewHeatMap(g, pal)
	hm.Min, hm.Max = lo, hi
	hm.Rasterized = true
	hm.NaN = color.RGBA{128, 128, 128, 255}
	p.Add(hm)

	cb := plot.New()
	cb.HideX()
	cb.Y.Padding = 0
	cb.Y.Tick.Marker = exactTicks{}
	bar := &plotter.ColorBar{ColorMap: rangeMap{pal: pal, lo: lo, hi: hi}, Vertical: true}
	cb.Add(bar)

	size := opt.Size
	if size == 0 {
		size = 12 * vg.Centimeter
	}
	cw := vgimg.New(size*1.2, size)
	dc := draw.New(cw)
	left := draw.Crop(dc, 0, -size*0.22, 0, 0)
	right := draw.Crop(dc, size, 0, 0.5*vg.Centimeter, -0.9*vg.Centimeter)
	p.Draw(left)
	cb.Draw(right)
	_, err := vgimg.PngCanvas{Canvas: cw}.WriteTo(w)
	return err
}

// rangeMap is a palette.ColorMap over [lo, hi] for the colour bar.
type rangeMap struct {
	pal    palette.Palette
	lo, hi float64
}

func (m rangeMap) At(v float64) (color.Color, error) {
	c := m.pal.Colors()
	t := (v - m.lo) / (m.hi - m.lo)
	i := int(math.Round(t * float64(len(c)-1)))
	i = max(0, min(len(c)-1, i))
	return c[i], nil
}
func (m rangeMap) Max() float64                { return m.hi }
func (m rangeMap) Min() float64                { return m.lo }
func (m rangeMap) SetMax(float64)              {}
func (m rangeMap) SetMin(float64)              {}
func (m rangeMap) Alpha() float64              { return 1 }
func (m rangeMap) SetAlpha(float64)            {}
func (m rangeMap) Palette(int) palette.Palette { return m.pal }

// SaveField writes the PNG of Field to path, atomically (a temporary file beside path,
// renamed into place when complete: an existing file is replaced whole or not at all).
func SaveField(path string, field []float64, rows, cols int, opt Options) error {
	return atomicfile.WriteFile(path, func(w io.Writer) error { return Field(w, field, rows, cols, opt) })
}

// SaveImage writes img as PNG to path (for raw one-pixel-per-value renderings), atomically
// as SaveField.
func SaveImage(path string, img image.Image) error {
	return atomicfile.WriteFile(path, func(w io.Writer) error { return png.Encode(w, img) })
}
