package interferometry

import (
	"fmt"
	"math"
)

// Grid is the pixel grid of an image: Nx columns, Ny rows, square pixels, field of view FOV
// micro-arcseconds across the Nx columns (pixel size ψ = FOV·RadPerUas/Nx radians).
//
// Images are row-major float64 slices of length Ny·Nx in Jy per pixel, img[j*Nx+i] being row
// j, column i (ehtim's imarr). Row 0 is North (largest +y), column 0 is East (largest +x, the
// sky seen from Earth), and pixel centres are at
//
//	x_i = ψ·(Nx/2 − 1/2 − i),   y_j = ψ·(Ny/2 − 1/2 − j)   (radians),
//
// so that no pixel centre is at the origin when Nx, Ny are even.
type Grid struct {
	Nx, Ny int
	FOV    float64 // μas across the Nx columns
}

// NewGrid returns a square n×n grid spanning fovUas micro-arcseconds.
func NewGrid(n int, fovUas float64) (Grid, error) {
	g := Grid{Nx: n, Ny: n, FOV: fovUas}
	return g, g.Validate()
}

// Validate checks that the grid has at least one pixel and a positive finite field of view.
func (g Grid) Validate() error {
	if g.Nx < 1 || g.Ny < 1 {
		return fmt.Errorf("interferometry: image grid %d×%d has no pixels", g.Ny, g.Nx)
	}
	if g.Nx*g.Ny > 1<<24 {
		return fmt.Errorf("interferometry: image grid %d×%d is too large", g.Ny, g.Nx)
	}
	if !(g.FOV > 0) || math.IsInf(g.FOV, 0) {
		return fmt.Errorf("interferometry: field of view %v μas must be positive and finite", g.FOV)
	}
	return nil
}

// Len returns Nx·Ny.
func (g Grid) Len() int { return g.Nx * g.Ny }

// PixelSize returns ψ = FOV·RadPerUas/Nx in radians (ehtim's psize).
func (g Grid) PixelSize() float64 { return g.FOV * RadPerUas / float64(g.Nx) }

// X returns the x coordinate (radians, +x = East) of the centre of column i.
func (g Grid) X(i int) float64 { return g.PixelSize() * (float64(g.Nx)/2 - 0.5 - float64(i)) }

// Y returns the y coordinate (radians, +y = North) of the centre of row j.
func (g Grid) Y(j int) float64 { return g.PixelSize() * (float64(g.Ny)/2 - 0.5 - float64(j)) }

// CheckImage returns an error when img does not have Nx·Ny finite values.
func (g Grid) CheckImage(img []float64) error {
	if len(img) != g.Len() {
		return fmt.Errorf("interferometry: image has %d pixels, want %d×%d = %d", len(img), g.Ny, g.Nx, g.Len())
	}
	for k, v := range img {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("interferometry: image pixel (row %d, column %d) = %v", k/g.Nx, k%g.Nx, v)
		}
	}
	return nil
}

// TrianglePulse returns the Fourier transform of ehtim's triangle pixel pulse at (u, v)
// (wavelengths) for pixel size psize (radians): P = T(2πu)·T(2πv) with
// T(ω) = 4/(ψ²ω²)·sin²(ψω/2) and T(0) = 1, i.e. T = sinc²(ψu).
func TrianglePulse(u, v, psize float64) float64 {
	t := func(w float64) float64 {
		if w == 0 {
			return 1
		}
		s := math.Sin(psize * w / 2)
		return (4.0 / (psize * psize * w * w)) * (s * s)
	}
	return t(2*math.Pi*u) * t(2*math.Pi*v)
}
