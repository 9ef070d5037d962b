package spectral

import (
	"fmt"
	"math"
)

// FFTFreq returns the integer wavenumbers of an n-point DFT in FFT order,
// [0, 1, …, ⌈n/2⌉−1, −⌊n/2⌋, …, −1] (numpy.fft.fftfreq(n)·n). For even n the Nyquist
// entry n/2 appears as −n/2.
func FFTFreq(n int) []float64 {
	k := make([]float64, n)
	for i := range k {
		if i < (n+1)/2 {
			k[i] = float64(i)
		} else {
			k[i] = float64(i - n)
		}
	}
	return k
}

// Grid holds the wavenumber grids of the half spectrum of a real field on the periodic
// domain [0, L1)×[0, L2) with nx×ny points (both even), exactly as the published
// pseudo-spectral Navier–Stokes solver (NavierStokes2d of devzhk/enkg-pytorch) builds them.
// All slices are read-only after construction.
type Grid struct {
	Nx, Ny, NyHalf int
	L1, L2         float64

	// K1 (length Nx) and K2 (length NyHalf) are the first-derivative wavenumbers
	// 2π/L1·[0, 1, …, nx/2−1, 0, −nx/2+1, …, −1] and 2π/L2·[0, 1, …, ny/2−1, 0]: the
	// Nyquist entry is 0, so derivatives of real fields stay real and odd-symmetric.
	K1, K2 []float64

	// KSq (length Nx*NyHalf) is the symbol of the negative Laplacian,
	// (2π/L1)²·k1² + (2π/L2)²·k2², with k1 = −nx/2 and k2 = ny/2 at the Nyquist entries.
	KSq []float64

	// InvKSq is 1/KSq, with 0 at the mean mode (0,0) so that inverse Laplacians have zero
	// mean. (The published solver stores 1 there; that entry only ever multiplies modes
	// that are zeroed afterwards, so results agree.)
	InvKSq []float64

	// Dealias is the 2/3-rule mask of the published solver: 1 where
	// k1² + k2² ≤ (nx/3)² + (ny/3)² in integer wavenumbers (k1 = −nx/2 at Nyquist,
	// k2 = 0…ny/2), else 0; and Dealias[0] = 0 (the mean is removed).
	Dealias []float64

	shells  []int32 // shell index of every half-spectrum mode (EnergySpectrum)
	nShells int
}

// NewGrid returns the wavenumber grids of an nx×ny field on [0, l1)×[0, l2). Sizes must be
// even and positive, lengths finite and positive.
func NewGrid(nx, ny int, l1, l2 float64) (*Grid, error) {
	if nx <= 0 || ny <= 0 || nx%2 != 0 || ny%2 != 0 {
		return nil, fmt.Errorf("spectral: grid needs even positive sizes, got %d×%d", nx, ny)
	}
	if !(l1 > 0) || !(l2 > 0) || math.IsInf(l1, 0) || math.IsInf(l2, 0) {
		return nil, fmt.Errorf("spectral: domain lengths must be finite and positive, got L1=%g L2=%g", l1, l2)
	}
	nyh := ny/2 + 1
	g := &Grid{Nx: nx, Ny: ny, NyHalf: nyh, L1: l1, L2: l2,
		K1: make([]float64, nx), K2: make([]float64, nyh),
		KSq: make([]float64, nx*nyh), InvKSq: make([]float64, nx*nyh), Dealias: make([]float64, nx*nyh),
	}
	c1, c2 := 2*math.Pi/l1, 2*math.Pi/l2
	lap1 := FFTFreq(nx) // Nyquist −nx/2
	for i := range g.K1 {
		if i != nx/2 {
			g.K1[i] = c1 * lap1[i]
		}
	}
	for j := 0; j < ny/2; j++ {
		g.K2[j] = c2 * float64(j)
	}
	// The published code forms (4π²/L²)·k², not (2π/L·k)²; keep its rounding.
	d1, d2 := 4*(math.Pi*math.Pi)/(l1*l1), 4*(math.Pi*math.Pi)/(l2*l2)
	cut := float64(nx)/3*(float64(nx)/3) + float64(ny)/3*(float64(ny)/3)
	for i := 0; i < nx; i++ {
		k1 := lap1[i]
		for j := 0; j < nyh; j++ {
			k2 := float64(j)
			idx := i*nyh + j
			g.KSq[idx] = d1*(k1*k1) + d2*(k2*k2)
			if idx != 0 {
				g.InvKSq[idx] = 1 / g.KSq[idx]
			}
			if k1*k1+k2*k2 <= cut {
				g.Dealias[idx] = 1
			}
		}
	}
	g.Dealias[0] = 0
	g.shells = make([]int32, nx*nyh)
	for i := 0; i < nx; i++ {
		for j := 0; j < nyh; j++ {
			s := g.shell(i, j)
			g.shells[i*nyh+j] = int32(s)
			g.nShells = max(g.nShells, s+1)
		}
	}
	return g, nil
}

func (g *Grid) checkSpec(name string, a, b []complex128) {
	n := g.Nx * g.NyHalf
	if len(a) != n || len(b) != n {
		panic(fmt.Sprintf("spectral: Grid.%s length mismatch: dst %d, src %d, want %d", name, len(a), len(b), n))
	}
}

// DerivX sets dst = i·K1 ⊙ src, the spectrum of ∂f/∂x (axis 0). dst may equal src.
func (g *Grid) DerivX(dst, src []complex128) {
	g.checkSpec("DerivX", dst, src)
	nyh := g.NyHalf
	for i, k := range g.K1 {
		d, s := dst[i*nyh:(i+1)*nyh], src[i*nyh:(i+1)*nyh]
		for j, v := range s {
			d[j] = complex(-k*imag(v), k*real(v))
		}
	}
}

// DerivY sets dst = i·K2 ⊙ src, the spectrum of ∂f/∂y (axis 1). dst may equal src.
func (g *Grid) DerivY(dst, src []complex128) {
	g.checkSpec("DerivY", dst, src)
	nyh := g.NyHalf
	for i := 0; i < g.Nx; i++ {
		d, s := dst[i*nyh:(i+1)*nyh], src[i*nyh:(i+1)*nyh]
		for j, v := range s {
			k := g.K2[j]
			d[j] = complex(-k*imag(v), k*real(v))
		}
	}
}

// Laplacian sets dst = −KSq ⊙ src, the spectrum of Δf. dst may equal src.
func (g *Grid) Laplacian(dst, src []complex128) {
	g.checkSpec("Laplacian", dst, src)
	for i, v := range src {
		k := -g.KSq[i]
		dst[i] = complex(k*real(v), k*imag(v))
	}
}

// InvLaplacian sets dst to the spectrum of the zero-mean solution ψ of Δψ = f − mean(f),
// i.e. dst = −InvKSq ⊙ src (the stream function of vorticity w is InvLaplacian of −w).
// dst may equal src.
func (g *Grid) InvLaplacian(dst, src []complex128) {
	g.checkSpec("InvLaplacian", dst, src)
	for i, v := range src {
		k := -g.InvKSq[i]
		dst[i] = complex(k*real(v), k*imag(v))
	}
}

// ApplyDealias sets dst = Dealias ⊙ src (2/3 rule, mean removed). dst may equal src.
func (g *Grid) ApplyDealias(dst, src []complex128) {
	g.checkSpec("ApplyDealias", dst, src)
	for i, v := range src {
		m := g.Dealias[i]
		dst[i] = complex(m*real(v), m*imag(v))
	}
}

// NumShells returns the number of shells EnergySpectrum fills for this grid:
// the largest shell index of the half spectrum plus one.
func (g *Grid) NumShells() int { return g.nShells }

// shell returns round(|κ|/Δκ) for κ = (2π k1/L1, 2π k2/L2), Δκ = 2π/max(L1, L2), with the
// Nyquist entries at k1 = −nx/2 and k2 = ny/2.
func (g *Grid) shell(i, j int) int {
	k1 := float64(i)
	if i >= g.Nx/2 {
		k1 = float64(i - g.Nx)
	}
	l := math.Max(g.L1, g.L2)
	a, b := k1*l/g.L1, float64(j)*l/g.L2
	return int(math.Round(math.Sqrt(a*a + b*b)))
}

// EnergySpectrum fills dst with the isotropic energy spectrum of the real field f whose
// half spectrum F = rfft2(f) is given: shell s collects the modes with
// round(|κ|/Δκ) = s, κ = (2πk1/L1, 2πk2/L2), Δκ = 2π/max(L1, L2) (integer |k| on a 2π
// domain), and
//
//	E[s] = Σ_{modes in shell s} ½|F[k]|² / (nx·ny)²
//
// over the full (Hermitian) spectrum, so Σ_s E[s] = ½·mean(f²) (Parseval). For the
// kinetic energy spectrum of a velocity field add the spectra of its two components.
// Modes in shells ≥ len(dst) are dropped; NumShells gives the length that keeps all.
func (g *Grid) EnergySpectrum(dst []float64, F []complex128) {
	if len(F) != g.Nx*g.NyHalf {
		panic(fmt.Sprintf("spectral: EnergySpectrum spectrum length %d, want %d", len(F), g.Nx*g.NyHalf))
	}
	for i := range dst {
		dst[i] = 0
	}
	norm := 1 / (float64(g.Nx*g.Ny) * float64(g.Nx*g.Ny))
	nyh := g.NyHalf
	for i := 0; i < g.Nx; i++ {
		row := F[i*nyh : (i+1)*nyh]
		sh := g.shells[i*nyh : (i+1)*nyh]
		for j, v := range row {
			s := int(sh[j])
			if s >= len(dst) {
				continue
			}
			w := norm // k2 = 0 and ny/2 appear once in the full spectrum, the others twice
			if j != 0 && j != g.Ny/2 {
				w = 2 * norm
			}
			dst[s] += 0.5 * w * (real(v)*real(v) + imag(v)*imag(v))
		}
	}
}
