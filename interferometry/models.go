package interferometry

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Synthetic black-hole images on a Grid (Jy per pixel, row 0 = North, column 0 = East).
// Sky coordinates are in μas: x to the East, y to the North, position angles east of north.

func (g Grid) uas(i, j int) (x, y float64) {
	c := g.FOV / float64(g.Nx) // μas per pixel
	return c * (float64(g.Nx)/2 - 0.5 - float64(i)), c * (float64(g.Ny)/2 - 0.5 - float64(j))
}

// normalize scales img to total flux; an all-zero image is an error.
func normalize(img []float64, flux float64) error {
	var s float64
	for _, v := range img {
		s += v
	}
	if !(s > 0) {
		return fmt.Errorf("interferometry: model image has no flux on the grid (too small or outside the field)")
	}
	for i := range img {
		img[i] *= flux / s
	}
	return nil
}

// Crescent writes ehtim's add_crescent (Kamruddin & Dexter 2013) into dst: uniform brightness
// inside the disk of radius Rp centred at (X, Y) and outside the disk of radius Rn centred at
// (X+A, Y+B), normalised to Flux. Lengths in μas. Pixels are tested at their centres, as ehtim does.
type Crescent struct {
	Flux, Rp, Rn, A, B, X, Y float64
}

// Render writes the crescent into dst (len Nx·Ny).
func (c Crescent) Render(dst []float64, g Grid) error {
	if err := checkModel(dst, g); err != nil {
		return err
	}
	if !(c.Rp > 0) || c.Rn < 0 || c.Rn >= c.Rp {
		return fmt.Errorf("interferometry: crescent radii Rp = %v, Rn = %v μas: need 0 ≤ Rn < Rp", c.Rp, c.Rn)
	}
	for j := 0; j < g.Ny; j++ {
		for i := 0; i < g.Nx; i++ {
			x, y := g.uas(i, j)
			x, y = x-c.X, y-c.Y
			v := 0.0
			if (x-c.A)*(x-c.A)+(y-c.B)*(y-c.B) > c.Rn*c.Rn && x*x+y*y < c.Rp*c.Rp {
				v = 1
			}
			dst[j*g.Nx+i] = v
		}
	}
	return normalize(dst, c.Flux)
}

// Ring is a Gaussian ring with an m = 1 brightness asymmetry:
//
//	I(r, φ) ∝ exp(−(r − R)²/(2W²))·(1 + Asym·cos(φ − PA)),
//
// r, φ polar coordinates about (X, Y) with φ east of north; the brightest side is at PA.
// Lengths in μas, PA in radians, 0 ≤ Asym ≤ 1.
type Ring struct {
	Flux, R, W, Asym, PA, X, Y float64
}

// Render writes the ring into dst.
func (m Ring) Render(dst []float64, g Grid) error {
	if err := checkModel(dst, g); err != nil {
		return err
	}
	if !(m.R > 0) || !(m.W > 0) || m.Asym < 0 || m.Asym > 1 {
		return fmt.Errorf("interferometry: ring R = %v, W = %v μas, asymmetry %v: need R, W > 0 and 0 ≤ asymmetry ≤ 1", m.R, m.W, m.Asym)
	}
	for j := 0; j < g.Ny; j++ {
		for i := 0; i < g.Nx; i++ {
			x, y := g.uas(i, j)
			x, y = x-m.X, y-m.Y
			r := math.Hypot(x, y)
			phi := math.Atan2(x, y) // east of north
			d := (r - m.R) / m.W
			dst[j*g.Nx+i] = math.Exp(-0.5*d*d) * (1 + m.Asym*math.Cos(phi-m.PA))
		}
	}
	return normalize(dst, m.Flux)
}

// Gaussian is an elliptical Gaussian of full widths at half maximum FWHMMaj, FWHMMin (μas),
// major axis at position angle PA (radians east of north), centred at (X, Y).
type Gaussian struct {
	Flux, FWHMMaj, FWHMMin, PA, X, Y float64
}

// Render writes the Gaussian into dst.
func (m Gaussian) Render(dst []float64, g Grid) error {
	if err := checkModel(dst, g); err != nil {
		return err
	}
	if !(m.FWHMMaj > 0) || !(m.FWHMMin > 0) {
		return fmt.Errorf("interferometry: Gaussian FWHM %v × %v μas must be positive", m.FWHMMaj, m.FWHMMin)
	}
	f := 2 * math.Sqrt(2*math.Ln2)
	sa, sb := m.FWHMMaj/f, m.FWHMMin/f
	sp, cp := math.Sincos(m.PA)
	for j := 0; j < g.Ny; j++ {
		for i := 0; i < g.Nx; i++ {
			x, y := g.uas(i, j)
			x, y = x-m.X, y-m.Y
			a := x*sp + y*cp // along the major axis
			b := x*cp - y*sp
			dst[j*g.Nx+i] = math.Exp(-0.5 * (a*a/(sa*sa) + b*b/(sb*sb)))
		}
	}
	return normalize(dst, m.Flux)
}

func checkModel(dst []float64, g Grid) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if len(dst) != g.Len() {
		return fmt.Errorf("interferometry: model image has %d pixels, want %d", len(dst), g.Len())
	}
	return nil
}

// Blur writes src convolved with a circular Gaussian of full width at half maximum fwhmUas
// into dst (ehtim's Image.blur_circ: scipy.ndimage.gaussian_filter with σ = FWHM/(2√(2 ln 2))
// in pixels, truncated at 4σ, mirror ("reflect") boundaries). dst may alias src. fwhm = 0
// copies.
func Blur(dst, src []float64, g Grid, fwhmUas float64) error {
	if err := checkModel(dst, g); err != nil {
		return err
	}
	if len(src) != len(dst) {
		return fmt.Errorf("interferometry: blur of %d pixels into %d", len(src), len(dst))
	}
	if fwhmUas < 0 || math.IsNaN(fwhmUas) || math.IsInf(fwhmUas, 0) {
		return fmt.Errorf("interferometry: blur FWHM %v μas must be non-negative", fwhmUas)
	}
	if fwhmUas == 0 {
		copy(dst, src)
		return nil
	}
	sigma := fwhmUas * RadPerUas / (2 * math.Sqrt(2*math.Log(2))) / g.PixelSize()
	w := gaussWeights(sigma)
	tmp := make([]float64, len(src))
	line := make([]float64, max(g.Nx, g.Ny))
	// Axis 0 (along columns), then axis 1 (along rows), as scipy does.
	for i := 0; i < g.Nx; i++ {
		for j := 0; j < g.Ny; j++ {
			line[j] = src[j*g.Nx+i]
		}
		for j := 0; j < g.Ny; j++ {
			tmp[j*g.Nx+i] = correlateReflect(line[:g.Ny], w, j)
		}
	}
	for j := 0; j < g.Ny; j++ {
		copy(line, tmp[j*g.Nx:(j+1)*g.Nx])
		for i := 0; i < g.Nx; i++ {
			dst[j*g.Nx+i] = correlateReflect(line[:g.Nx], w, i)
		}
	}
	return nil
}

// gaussWeights returns scipy's gaussian_filter1d kernel: radius int(4σ + 0.5), weights
// exp(−x²/(2σ²)) normalised to sum 1.
func gaussWeights(sigma float64) []float64 {
	r := int(4*sigma + 0.5)
	w := make([]float64, 2*r+1)
	var s float64
	for x := -r; x <= r; x++ {
		v := math.Exp(-0.5 / (sigma * sigma) * float64(x*x))
		w[x+r] = v
		s += v
	}
	for i := range w {
		w[i] /= s
	}
	return w
}

// correlateReflect returns Σ_m w[m]·line[reflect(p + m − r)] with scipy's 'reflect' boundary
// (d c b a | a b c d | d c b a).
func correlateReflect(line, w []float64, p int) float64 {
	n := len(line)
	r := len(w) / 2
	var s float64
	for m, wm := range w {
		q := p + m - r
		// Reflect into [0, n) with period 2n.
		if n == 1 {
			q = 0
		} else {
			q %= 2 * n
			if q < 0 {
				q += 2 * n
			}
			if q >= n {
				q = 2*n - 1 - q
			}
		}
		s += wm * line[q]
	}
	return s
}

// GeneratorSettings are the parameter ranges of RandomImage (uniform draws). The zero value
// gives the defaults in brackets.
type GeneratorSettings struct {
	FluxMin, FluxMax     float64 // total flux, Jy [0.4, 1.2]
	RadiusMin, RadiusMax float64 // ring radius, μas [17, 26] (M87*: diameter ≈ 42 μas)
	WidthMin, WidthMax   float64 // ring width σ (Gaussian ring) or Rp − Rn (crescent), μas [2, 6]
	AsymMax              float64 // m = 1 asymmetry (ring) [0.9]
	ShiftMax             float64 // |centre offset| in x and y, μas [5]
	BlurMin, BlurMax     float64 // final blur FWHM, μas [0, 10]
	GaussFracMax         float64 // flux fraction of an extra Gaussian blob [0.2]
}

func (s GeneratorSettings) withDefaults() GeneratorSettings {
	d := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	if s.FluxMax == 0 {
		s.FluxMin, s.FluxMax = 0.4, 1.2
	}
	if s.RadiusMax == 0 {
		s.RadiusMin, s.RadiusMax = 17, 26
	}
	if s.WidthMax == 0 {
		s.WidthMin, s.WidthMax = 2, 6
	}
	d(&s.AsymMax, 0.9)
	d(&s.ShiftMax, 5)
	if s.BlurMax == 0 {
		s.BlurMin, s.BlurMax = 0, 10
	}
	d(&s.GaussFracMax, 0.2)
	return s
}

// RandomImage writes a random plausible black-hole image into dst, drawing from r: with
// probability ½ a Gaussian ring with m = 1 asymmetry (position angle uniform), otherwise an
// ehtim crescent (outer radius R, inner radius R − width, inner-disk offset up to the width in
// a uniform direction); then an optional Gaussian blob (FWHM 5–20 μas within R of the centre)
// carrying a uniform fraction of the flux up to GaussFracMax, and a circular blur. All ranges
// are uniform, from s.
func RandomImage(dst []float64, g Grid, s GeneratorSettings, r *rand.Rand) error {
	s = s.withDefaults()
	u := func(a, b float64) float64 { return a + (b-a)*r.Float64() }
	flux := u(s.FluxMin, s.FluxMax)
	R := u(s.RadiusMin, s.RadiusMax)
	W := u(s.WidthMin, s.WidthMax)
	x0, y0 := u(-s.ShiftMax, s.ShiftMax), u(-s.ShiftMax, s.ShiftMax)
	var err error
	if r.Float64() < 0.5 {
		err = Ring{Flux: 1, R: R, W: W, Asym: u(0, s.AsymMax), PA: u(0, 2*math.Pi), X: x0, Y: y0}.Render(dst, g)
	} else {
		th := u(0, 2*math.Pi)
		off := u(0, 0.9) * W
		err = Crescent{Flux: 1, Rp: R, Rn: R - W, A: off * math.Sin(th), B: off * math.Cos(th), X: x0, Y: y0}.Render(dst, g)
	}
	if err != nil {
		return err
	}
	if f := u(0, s.GaussFracMax); f > 0 {
		blob := make([]float64, len(dst))
		th, rr := u(0, 2*math.Pi), u(0, R)
		fw := u(5, 20)
		if err := (Gaussian{Flux: f, FWHMMaj: fw, FWHMMin: fw, X: x0 + rr*math.Sin(th), Y: y0 + rr*math.Cos(th)}).Render(blob, g); err == nil {
			for i := range dst {
				dst[i] = (1-f)*dst[i] + blob[i]
			}
		}
	}
	if err := Blur(dst, dst, g, u(s.BlurMin, s.BlurMax)); err != nil {
		return err
	}
	return normalize(dst, flux)
}
