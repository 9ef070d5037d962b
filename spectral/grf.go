package spectral

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
)

// GRFSettings are the parameters of a Gaussian random field with covariance
// σ²(−Δ + τ²)^(−α) on the periodic domain [0, L1)×[0, L2). The zero value of a field
// means its default.
type GRFSettings struct {
	Alpha float64 // smoothness exponent α; default 2.5
	Tau   float64 // inverse length scale τ; default 7
	Sigma float64 // amplitude σ; default τ^(α−1)
	L1    float64 // domain length along axis 0; default 2π
	L2    float64 // domain length along axis 1; default 2π
}

// DefaultGRFSettings returns the settings of the published Navier–Stokes experiments:
// α = 2.5, τ = 7, σ = τ^(α−1) = 7^1.5, L1 = L2 = 2π.
func DefaultGRFSettings() GRFSettings {
	s := GRFSettings{Alpha: 2.5, Tau: 7, L1: 2 * math.Pi, L2: 2 * math.Pi}
	s.Sigma = math.Pow(s.Tau, s.Alpha-1)
	return s
}

// withDefaults fills zero fields.
func (s GRFSettings) withDefaults() GRFSettings {
	if s.Alpha == 0 {
		s.Alpha = 2.5
	}
	if s.Tau == 0 {
		s.Tau = 7
	}
	if s.Sigma == 0 {
		s.Sigma = math.Pow(s.Tau, 0.5*(2*s.Alpha-2))
	}
	if s.L1 == 0 {
		s.L1 = 2 * math.Pi
	}
	if s.L2 == 0 {
		s.L2 = 2 * math.Pi
	}
	return s
}

// GRF samples Gaussian random fields exactly as InverseBench's GaussianRF2d (devzhk/InverseBench):
// given standard normals ξ of shape (nx, ny, 2),
//
//	w = Im(ifft2(√λ ⊙ (ξ₀ + iξ₁))),
//	√λ[k1,k2] = nx·ny·σ·√(2/(L1·L2))·((2π/L1)²k1² + (2π/L2)²k2² + τ²)^(−α/2),
//
// with k1, k2 the FFT-order integer wavenumbers [0, …, ⌊n/2⌋−1, −⌈n/2⌉, …, −1], √λ[0,0] = 0
// and √λ = 0 wherever k1 + k2 ≤ 0 and (k1 + k2 ≠ 0 or k1 ≤ 0) (one of each ± pair kept, so
// taking the imaginary part yields a real field of the right covariance).
//
// A GRF holds scratch space: one goroutine at a time (SampleBatch parallelises safely).
type GRF struct {
	nx, ny   int
	settings GRFSettings
	sqrtEig  []float64
	plan     *CPlan
	buf      []complex128
	xi       []float64
	workers  []*GRF // per-worker scratch of SampleBatch, created on first use
}

// GRFMemory returns the bytes a GRF for nx×ny fields allocates (√λ, scratch and FFT plan;
// SampleBatch adds GRFWorkerMemory per worker beyond the first).
func GRFMemory(nx, ny int) float64 {
	return float64(nx) * float64(ny) * (8 + 16 + 16 + 2*16)
}

// GRFWorkerMemory returns the bytes of one extra SampleBatch worker's scratch for nx×ny fields.
func GRFWorkerMemory(nx, ny int) float64 {
	return float64(nx) * float64(ny) * (16 + 16 + 2*16)
}

// NewGRF returns a sampler for nx×ny fields. Both sizes must be positive and the grid must
// keep a Fourier mode: with at most 3 points along each axis (or 1×4, 1×5) every
// field would be zero, which is an error. The memory it needs (GRFMemory) is checked against the limit of
// internal/memlimit before anything is allocated.
func NewGRF(nx, ny int, s GRFSettings) (*GRF, error) {
	if nx <= 0 || ny <= 0 {
		return nil, fmt.Errorf("spectral: GRF needs positive sizes, got %d×%d", nx, ny)
	}
	if !grfKeepsMode(nx, ny) {
		return nil, fmt.Errorf("spectral: a GRF on a %d×%d grid keeps no Fourier mode (every field would be zero); use at least 4 points along an axis", nx, ny)
	}
	if err := memlimit.Check(fmt.Sprintf("spectral: a GRF of %d×%d", nx, ny), GRFMemory(nx, ny)); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	for _, p := range []struct {
		name string
		v    float64
	}{{"alpha", s.Alpha}, {"tau", s.Tau}, {"sigma", s.Sigma}, {"L1", s.L1}, {"L2", s.L2}} {
		if math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			return nil, fmt.Errorf("spectral: GRF %s = %g is not finite", p.name, p.v)
		}
	}
	if s.Tau <= 0 || s.Sigma < 0 || s.L1 <= 0 || s.L2 <= 0 {
		return nil, fmt.Errorf("spectral: GRF needs tau > 0, sigma ≥ 0, L1, L2 > 0; got tau=%g sigma=%g L1=%g L2=%g",
			s.Tau, s.Sigma, s.L1, s.L2)
	}
	plan, err := NewCPlan(nx, ny)
	if err != nil {
		return nil, err
	}
	g := &GRF{nx: nx, ny: ny, settings: s, sqrtEig: make([]float64, nx*ny), plan: plan,
		buf: make([]complex128, nx*ny), xi: make([]float64, 2*nx*ny)}
	const1 := 4 * (math.Pi * math.Pi) / (s.L1 * s.L1)
	const2 := 4 * (math.Pi * math.Pi) / (s.L2 * s.L2)
	norm := math.Sqrt(2 / (s.L1 * s.L2))
	k1s, k2s := grfFreq(nx), grfFreq(ny)
	for i, k1 := range k1s {
		for j, k2 := range k2s {
			if (i == 0 && j == 0) || (k1+k2 <= 0 && (k1+k2 != 0 || k1 <= 0)) {
				continue
			}
			g.sqrtEig[i*ny+j] = float64(nx*ny) * s.Sigma * norm *
				math.Pow(const1*(k1*k1)+const2*(k2*k2)+s.Tau*s.Tau, -s.Alpha/2)
		}
	}
	return g, nil
}

// grfKeepsMode reports whether some √λ[k1,k2] is kept (not masked) on an nx×ny grid. The
// wavenumbers of grfFreq(n) are the integers of [h−n, h−1], h = ⌊n/2⌋; a mode is kept when
// k1 + k2 > 0, or k1 + k2 = 0 and k1 > 0.
func grfKeepsMode(nx, ny int) bool {
	h1, h2 := nx/2, ny/2
	if (h1-1)+(h2-1) > 0 {
		return true
	}
	// k1 > 0 with −k1 a wavenumber of axis 1: k1 ∈ [1, h1−1] ∩ [1−h2, ny−h2].
	return max(1, 1-h2) <= min(h1-1, ny-h2)
}

// grfFreq is torch.cat((arange(0, n//2), arange(-n//2, 0))) with Python's floor division.
func grfFreq(n int) []float64 {
	k := make([]float64, n)
	h := n / 2
	for i := range k {
		if i < h {
			k[i] = float64(i)
		} else {
			k[i] = float64(i - n)
		}
	}
	return k
}

// Settings returns the settings in use, defaults filled in.
func (g *GRF) Settings() GRFSettings { return g.settings }

// Nx returns the number of points along axis 0.
func (g *GRF) Nx() int { return g.nx }

// Ny returns the number of points along axis 1.
func (g *GRF) Ny() int { return g.ny }

// SqrtEig returns √λ (length nx·ny, row-major, FFT order). Read-only.
func (g *GRF) SqrtEig() []float64 { return g.sqrtEig }

// FromNormals writes into dst (length nx·ny) the field of the standard normals xi, given
// as a C-order array of shape (nx, ny, 2): xi[(i*ny+j)*2+c].
func (g *GRF) FromNormals(dst, xi []float64) {
	n := g.nx * g.ny
	if len(dst) != n || len(xi) != 2*n {
		panic(fmt.Sprintf("spectral: GRF.FromNormals lengths dst %d (want %d), xi %d (want %d)", len(dst), n, len(xi), 2*n))
	}
	for i, e := range g.sqrtEig {
		g.buf[i] = complex(e*xi[2*i], e*xi[2*i+1])
	}
	g.plan.Inverse(g.buf, g.buf)
	for i, v := range g.buf {
		dst[i] = imag(v)
	}
}

// Sample draws ξ from r (nx·ny·2 normals in C order of shape (nx, ny, 2)) and writes the
// field into dst.
func (g *GRF) Sample(dst []float64, r *rand.Rand) {
	rng.Normal(g.xi, r)
	g.FromNormals(dst, g.xi)
}

// SampleBatch fills dst (length k·nx·ny, k fields back to back) with k fields; field m
// draws from rng.Stream(seed, m), so the result does not depend on workers (≤ 0: GOMAXPROCS).
// Per-worker scratch is kept for later calls (allocated once). Like every GRF method it
// must not run concurrently with other calls on g.
func (g *GRF) SampleBatch(ctx context.Context, dst []float64, seed uint64, workers int) error {
	n := g.nx * g.ny
	if len(dst)%n != 0 {
		return fmt.Errorf("spectral: GRF.SampleBatch dst length %d is not a multiple of %d×%d", len(dst), g.nx, g.ny)
	}
	k := len(dst) / n
	workers = min(parallel.Workers(workers), k)
	if k == 0 {
		return nil
	}
	for len(g.workers) < workers {
		c := &GRF{nx: g.nx, ny: g.ny, settings: g.settings, sqrtEig: g.sqrtEig,
			buf: make([]complex128, n), xi: make([]float64, 2*n)}
		c.plan, _ = NewCPlan(g.nx, g.ny) // sizes already validated
		g.workers = append(g.workers, c)
	}
	return parallel.For(ctx, k, workers, func(w, m int) error {
		g.workers[w].Sample(dst[m*n:(m+1)*n], rng.Stream(seed, m))
		return nil
	})
}
