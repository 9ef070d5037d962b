package spectral

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readNPY reads a little-endian float64 C-order .npy file (test helper kept local so that the
// tests do not depend on other packages of the module).
func readNPY(t *testing.T, name string) ([]int, []float64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if string(b[1:6]) != "NUMPY" {
		t.Fatalf("%s: not an npy file", name)
	}
	var hl, off int
	if b[6] == 1 {
		hl, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	} else {
		hl, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	}
	h := string(b[off : off+hl])
	if !strings.Contains(h, "'<f8'") || strings.Contains(h, "'fortran_order': True") {
		t.Fatalf("%s: unsupported header %q", name, h)
	}
	m := regexp.MustCompile(`'shape': \(([^)]*)\)`).FindStringSubmatch(h)
	var shape []int
	for _, f := range strings.Split(m[1], ",") {
		if f = strings.TrimSpace(f); f != "" {
			v, _ := strconv.Atoi(f)
			shape = append(shape, v)
		}
	}
	data := b[off+hl:]
	out := make([]float64, len(data)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return shape, out
}

func TestFFTFreq(t *testing.T) {
	for n, want := range map[int][]float64{1: {0}, 4: {0, 1, -2, -1}, 5: {0, 1, 2, -2, -1}, 6: {0, 1, 2, -3, -2, -1}} {
		got := FFTFreq(n)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("FFTFreq(%d) = %v, want %v", n, got, want)
				break
			}
		}
	}
}

func TestGridPublishedConventions(t *testing.T) {
	g, err := NewGrid(8, 6, 2*math.Pi, 4*math.Pi)
	if err != nil {
		t.Fatal(err)
	}
	wantK1 := []float64{0, 1, 2, 3, 0, -3, -2, -1}
	for i, k := range wantK1 {
		if g.K1[i] != k {
			t.Errorf("K1 = %v, want %v", g.K1, wantK1)
			break
		}
	}
	wantK2 := []float64{0, 0.5, 1, 0}
	for j, k := range wantK2 {
		if g.K2[j] != k {
			t.Errorf("K2 = %v, want %v", g.K2, wantK2)
			break
		}
	}
	// Nyquist row k1 = −4, Nyquist column k2 = 3 (scaled by 1/2 for L2 = 4π).
	if got, want := g.KSq[4*4+3], 16+2.25; math.Abs(got-want) > 1e-14 {
		t.Errorf("KSq at Nyquist corner = %g, want %g", got, want)
	}
	if g.InvKSq[0] != 0 || g.Dealias[0] != 0 {
		t.Errorf("mean mode: InvKSq %g Dealias %g, want 0 0", g.InvKSq[0], g.Dealias[0])
	}
	// Mask: k1² + k2² ≤ (8/3)² + (6/3)² = 11.11 in integer wavenumbers.
	for i, k1 := range FFTFreq(8) {
		for j := 0; j < 4; j++ {
			want := 0.0
			if k1*k1+float64(j*j) <= 64.0/9+4 && i+j != 0 {
				want = 1
			}
			if g.Dealias[i*4+j] != want {
				t.Errorf("Dealias[%d,%d] = %g, want %g", i, j, g.Dealias[i*4+j], want)
			}
		}
	}
	for _, bad := range [][2]int{{7, 8}, {8, 0}, {-2, 2}} {
		if _, err := NewGrid(bad[0], bad[1], 1, 1); err == nil {
			t.Errorf("NewGrid(%v): want error", bad)
		}
	}
	for _, l := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := NewGrid(8, 8, l, 1); err == nil {
			t.Errorf("NewGrid L1=%g: want error", l)
		}
	}
}

// TestDerivativesAnalytic differentiates band-limited analytic fields on a non-square,
// non-2π domain: the results must be exact to rounding.
func TestDerivativesAnalytic(t *testing.T) {
	nx, ny := 32, 24
	l1, l2 := 3.0, 5.0
	g, _ := NewGrid(nx, ny, l1, l2)
	p, _ := NewPlan(nx, ny)
	a1, a2 := 2*math.Pi/l1, 2*math.Pi/l2
	f := make([]float64, nx*ny)
	fx, fy, lap := make([]float64, nx*ny), make([]float64, nx*ny), make([]float64, nx*ny)
	for i := 0; i < nx; i++ {
		x := float64(i) * l1 / float64(nx)
		for j := 0; j < ny; j++ {
			y := float64(j) * l2 / float64(ny)
			s1, c1 := math.Sincos(3 * a1 * x)
			s2, c2 := math.Sincos(5 * a2 * y)
			s3, c3 := math.Sincos(a1*x - 2*a2*y)
			f[i*ny+j] = s1*c2 + 0.5*c3 + 0.25
			fx[i*ny+j] = 3*a1*c1*c2 - 0.5*a1*s3
			fy[i*ny+j] = -5*a2*s1*s2 + a2*s3
			lap[i*ny+j] = -(9*a1*a1+25*a2*a2)*s1*c2 - 0.5*(a1*a1+4*a2*a2)*c3
		}
	}
	F := make([]complex128, nx*g.NyHalf)
	D := make([]complex128, nx*g.NyHalf)
	out := make([]float64, nx*ny)
	p.Forward(F, f)
	check := func(name string, want []float64) {
		t.Helper()
		p.Inverse(out, D)
		if d := maxAbsDiff(out, want); d > 1e-12 {
			t.Errorf("%s: max error %g", name, d)
		}
	}
	g.DerivX(D, F)
	check("d/dx", fx)
	g.DerivY(D, F)
	check("d/dy", fy)
	g.Laplacian(D, F)
	check("Laplacian", lap)
	// Inverse Laplacian of the Laplacian returns the field minus its mean.
	g.Laplacian(D, F)
	g.InvLaplacian(D, D)
	for i := range f {
		lap[i] = f[i] - 0.25
	}
	check("InvLaplacian", lap)
	// In-place use.
	copy(D, F)
	g.DerivX(D, D)
	check("d/dx in place", fx)
}

func TestNyquistDerivativeIsZero(t *testing.T) {
	// cos(π i) along axis 0 sits at the Nyquist row: its spectral derivative is 0 by convention.
	nx, ny := 8, 8
	g, _ := NewGrid(nx, ny, 2*math.Pi, 2*math.Pi)
	p, _ := NewPlan(nx, ny)
	f := make([]float64, nx*ny)
	for i := 0; i < nx; i++ {
		for j := 0; j < ny; j++ {
			f[i*ny+j] = math.Cos(math.Pi*float64(i)) + math.Cos(math.Pi*float64(j))
		}
	}
	F := make([]complex128, nx*g.NyHalf)
	p.Forward(F, f)
	g.DerivX(F, F)
	p.Inverse(f, F)
	for _, v := range f {
		if math.Abs(v) > 1e-14 {
			t.Fatalf("derivative of the Nyquist mode = %g, want 0", v)
		}
	}
}

func TestEnergySpectrumParseval(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, sz := range [][2]int{{16, 16}, {32, 16}, {12, 20}} {
		nx, ny := sz[0], sz[1]
		g, _ := NewGrid(nx, ny, 2*math.Pi, 2*math.Pi*float64(ny)/float64(nx))
		p, _ := NewPlan(nx, ny)
		f := randReal(r, nx*ny)
		F := make([]complex128, nx*g.NyHalf)
		p.Forward(F, f)
		e := make([]float64, g.NumShells())
		g.EnergySpectrum(e, F)
		var sumE, sumF float64
		for _, v := range e {
			sumE += v
		}
		for _, v := range f {
			sumF += v * v
		}
		sumF *= 0.5 / float64(nx*ny)
		if math.Abs(sumE-sumF) > 1e-12*sumF {
			t.Errorf("%d×%d: Σ E = %.15g, ½ mean f² = %.15g", nx, ny, sumE, sumF)
		}
	}
	// A single mode cos(3x + 4y) has all its energy ½·½ in shell 5.
	nx := 32
	g, _ := NewGrid(nx, nx, 2*math.Pi, 2*math.Pi)
	p, _ := NewPlan(nx, nx)
	f := make([]float64, nx*nx)
	for i := 0; i < nx; i++ {
		for j := 0; j < nx; j++ {
			f[i*nx+j] = math.Cos(2 * math.Pi * float64(3*i+4*j) / float64(nx))
		}
	}
	F := make([]complex128, nx*g.NyHalf)
	p.Forward(F, f)
	e := make([]float64, 8)
	g.EnergySpectrum(e, F)
	for s, v := range e {
		want := 0.0
		if s == 5 {
			want = 0.25
		}
		if math.Abs(v-want) > 1e-14 {
			t.Errorf("single mode: E[%d] = %g, want %g", s, v, want)
		}
	}
}
