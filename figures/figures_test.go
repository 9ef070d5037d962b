package figures

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func vortex(n int) []float64 {
	f := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			x, y := 2*math.Pi*float64(i)/float64(n), 2*math.Pi*float64(j)/float64(n)
			f[i*n+j] = math.Sin(x) * math.Cos(2*y)
		}
	}
	return f
}

func TestFieldPNG(t *testing.T) {
	var buf bytes.Buffer
	if err := Field(&buf, vortex(32), 32, 32, Options{Title: "vorticity", Colormap: Diverging, Symmetric: true}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
		t.Errorf("image too small: %v", b)
	}
	if dir := os.Getenv("ENKG_ARTIFACTS"); dir != "" {
		_ = SaveField(filepath.Join(dir, "figures_vortex.png"), vortex(64), 64, 64, Options{Title: "vorticity", Colormap: Diverging, Symmetric: true})
	}
}

func TestImageMapping(t *testing.T) {
	img, err := Image([]float64{-1, 0, 1, math.NaN()}, 2, 2, Options{Colormap: Gray, Symmetric: true})
	if err != nil {
		t.Fatal(err)
	}
	// −1 → black, 0 → mid grey, +1 → white, NaN → grey marker; row 0 at the top.
	if c := img.RGBAAt(0, 0); c.R != 0 {
		t.Errorf("min not black: %v", c)
	}
	if c := img.RGBAAt(1, 0); c.R < 126 || c.R > 129 {
		t.Errorf("zero not mid grey: %v", c)
	}
	if c := img.RGBAAt(0, 1); c.R != 255 {
		t.Errorf("max not white: %v", c)
	}
	if _, err := Image([]float64{1, 2, 3}, 2, 2, Options{}); !errors.Is(err, ErrShape) {
		t.Errorf("bad shape: err = %v", err)
	}
	if c := Afmhot(1); c.R != 255 || c.G != 255 || c.B != 255 {
		t.Errorf("afmhot(1) = %v, want white", c)
	}
	if c := Afmhot(0.5); c.R != 255 || c.G != 128 || c.B != 0 {
		t.Errorf("afmhot(0.5) = %v, want (255,128,0)", c)
	}
}

func TestLines(t *testing.T) {
	var buf bytes.Buffer
	l := Lines{Title: "convergence", XLabel: "dt", YLabel: "error", LogX: true, LogY: true,
		Series: []Series{{Name: "Heun", X: []float64{1, 0.5, 0.25}, Y: []float64{1, 0.25, 0.0625}}}}
	if err := l.WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&buf); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	bad := Lines{Series: []Series{{Name: "x", X: []float64{1}, Y: nil}}}
	if err := bad.WritePNG(&buf); err == nil {
		t.Error("mismatched series accepted")
	}
}

func TestFieldClampsOutOfRange(t *testing.T) {
	// A fixed range narrower than the data: the out-of-range pixels must be drawn with the end
	// colours, not left transparent.
	var buf bytes.Buffer
	f := []float64{-5, 5, -5, 5}
	if err := Field(&buf, f, 2, 2, Options{Colormap: Gray, Min: -1, Max: 1}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// The −5 pixels fill half of the map: they must be black, not background.
	b := img.Bounds()
	black := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bb, a := img.At(x, y).RGBA(); a > 0 && r < 0x0800 && g < 0x0800 && bb < 0x0800 {
				black++
			}
		}
	}
	if frac := float64(black) / float64(b.Dx()*b.Dy()); frac < 0.2 {
		t.Errorf("only %.1f%% of the figure is black: out-of-range values not clamped", 100*frac)
	}
}
