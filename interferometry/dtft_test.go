package interferometry

import (
	"context"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// direct evaluates V_k = P_k Σ I[j,i] exp(+2πi(u x_i + v y_j)) term by term.
func direct(g Grid, u, v []float64, img []float64) []complex128 {
	out := make([]complex128, len(u))
	for k := range u {
		var s complex128
		for j := 0; j < g.Ny; j++ {
			for i := 0; i < g.Nx; i++ {
				s += complex(img[j*g.Nx+i], 0) * cmplx.Exp(complex(0, 2*math.Pi*(u[k]*g.X(i)+v[k]*g.Y(j))))
			}
		}
		out[k] = s * complex(TrianglePulse(u[k], v[k], g.PixelSize()), 0)
	}
	return out
}

func TestDFTShapesAndKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, sh := range [][2]int{{1, 1}, {5, 7}, {7, 4}, {3, 64}, {64, 64}, {9, 9}} {
		ny, nx := sh[0], sh[1]
		g := Grid{Nx: nx, Ny: ny, FOV: 100 + 3*float64(nx)}
		K := 300 // three k-blocks, the last one partial
		u, v := make([]float64, K), make([]float64, K)
		for k := range u {
			u[k], v[k] = 8e9*(2*r.Float64()-1), 8e9*(2*r.Float64()-1)
		}
		u[0], v[0] = 0, 0
		img := make([]float64, nx*ny)
		for i := range img {
			img[i] = r.Float64()
		}
		want := direct(g, u, v, img)
		var scale float64
		for _, x := range img {
			scale += x
		}
		for _, avx := range []bool{true, false} {
			old := useAVX2
			useAVX2 = useAVX2 && avx
			for _, m := range []Method{Separable, Dense} {
				d, err := NewDFT(g, u, v, m)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]complex128, K)
				d.Forward(got, img, nil)
				for k := range got {
					if cmplx.Abs(got[k]-want[k]) > 1e-13*scale {
						t.Fatalf("%d×%d %v avx=%v: V[%d] = %v, direct %v", ny, nx, m, useAVX2, k, got[k], want[k])
					}
				}
				par := make([]complex128, K)
				if err := d.ForwardParallel(context.Background(), par, img, 3); err != nil {
					t.Fatal(err)
				}
				for k := range par {
					if par[k] != got[k] {
						t.Fatalf("ForwardParallel differs from Forward at %d", k)
					}
				}
			}
			useAVX2 = old
		}
		// V(0,0) is the total flux.
		if d := cmplx.Abs(want[0] - complex(scale, 0)); d > 1e-12*scale {
			t.Errorf("V(0, 0) = %v, flux %v", want[0], scale)
		}
	}
}

// A point source of flux F anywhere in the field has |V| = F·P(u, v) at every (u, v): the
// pixel pulse is the only amplitude structure. At the centre of a pixel, the phase is
// 2π(u x + v y).
func TestPointSource(t *testing.T) {
	o := refObservation(t)
	g := refGrid(t)
	d, err := NewDFT(g, o.U, o.V, Auto)
	if err != nil {
		t.Fatal(err)
	}
	img := make([]float64, g.Len())
	vis := make([]complex128, o.Len())
	for _, p := range [][2]int{{0, 0}, {10, 40}, {31, 32}, {63, 5}} {
		clear(img)
		img[p[0]*g.Nx+p[1]] = 0.7
		d.Forward(vis, img, nil)
		for k, v := range vis {
			P := d.Pulse()[k]
			if math.Abs(cmplx.Abs(v)-0.7*P) > 1e-14 {
				t.Fatalf("pixel %v: |V[%d]| = %v, want %v", p, k, cmplx.Abs(v), 0.7*P)
			}
			ph := 2 * math.Pi * (o.U[k]*g.X(p[1]) + o.V[k]*g.Y(p[0]))
			if e := cmplx.Abs(v - complex(0.7*P, 0)*cmplx.Exp(complex(0, ph))); e > 1e-12 {
				t.Fatalf("pixel %v: V[%d] phase off by %v", p, k, e)
			}
		}
	}
	// The pulse is below 1 off the origin but close to it for EHT baselines on 2.5 μas pixels.
	for _, P := range d.Pulse() {
		if P > 1 || P < 0.9 {
			t.Fatalf("pulse %v", P)
		}
	}
}

func TestDFTBatchMatchesSingle(t *testing.T) {
	o := refObservation(t)
	d, err := NewDFT(refGrid(t), o.U, o.V, Separable)
	if err != nil {
		t.Fatal(err)
	}
	X := stack(t, 6)
	for _, w := range []int{1, 2, 4} {
		out := make([][]complex128, 6)
		for i := range out {
			out[i] = make([]complex128, d.Len())
		}
		if err := d.ForwardBatch(context.Background(), out, X, w); err != nil {
			t.Fatal(err)
		}
		one := make([]complex128, d.Len())
		for i := range out {
			d.Forward(one, X.RawRowView(i), nil)
			for k := range one {
				if one[k] != out[i][k] {
					t.Fatalf("workers %d: image %d vis %d differs", w, i, k)
				}
			}
		}
	}
	if err := d.ForwardBatch(context.Background(), make([][]complex128, 6), mat.NewDense(6, 10, nil), 1); err == nil {
		t.Error("wrong image size accepted")
	}
}

func TestBadInput(t *testing.T) {
	if _, err := NewGrid(64, 0); err == nil {
		t.Error("FOV 0 accepted")
	}
	if _, err := NewGrid(64, -3); err == nil {
		t.Error("negative FOV accepted")
	}
	if _, err := NewGrid(0, 100); err == nil {
		t.Error("empty grid accepted")
	}
	g, _ := NewGrid(4, 100)
	if err := g.CheckImage(make([]float64, 15)); err == nil {
		t.Error("wrong image shape accepted")
	}
	img := make([]float64, 16)
	img[5] = math.NaN()
	if err := g.CheckImage(img); err == nil {
		t.Error("NaN pixel accepted")
	}
	if _, err := EHT2017().Subset("ALMA", "XYZ"); err == nil {
		t.Error("unknown station accepted")
	}
	if _, err := LoadArray("no-such-array"); err == nil {
		t.Error("unknown array accepted")
	}
	// A source at Dec −80° is never above 10° at two northern stations.
	arr, err := EHT2017().Subset("JCMT", "SMA", "SMT")
	if err != nil {
		t.Fatal(err)
	}
	s := DefaultSettings()
	s.Dec = -80
	if _, err := Observe(arr, s); err == nil {
		t.Error("observation without data accepted")
	}
	for _, bad := range []func(*Settings){
		func(s *Settings) { s.Freq = 0 },
		func(s *Settings) { s.TStop = s.TStart },
		func(s *Settings) { s.TAdv = -1 },
		func(s *Settings) { s.Dec = 91 },
		func(s *Settings) { s.Bandwidth = math.NaN() },
		func(s *Settings) { s.ElevMin, s.ElevMax = 50, 20 },
		func(s *Settings) { s.MJD = 1000 },
	} {
		s := DefaultSettings()
		bad(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("settings %+v accepted", s)
		}
	}
}

func TestElevationDefaults(t *testing.T) {
	for _, c := range []struct{ min, max, wmin, wmax float64 }{
		{0, 0, 10, 85}, {15, 0, 15, 85}, {0, 60, 0, 60}, {5, 80, 5, 80},
	} {
		s := Settings{ElevMin: c.min, ElevMax: c.max}.withDefaults()
		if s.ElevMin != c.wmin || s.ElevMax != c.wmax {
			t.Errorf("(%v, %v) → (%v, %v), want (%v, %v)", c.min, c.max, s.ElevMin, s.ElevMax, c.wmin, c.wmax)
		}
	}
	// A higher cut removes rows.
	s := DefaultSettings()
	s.ElevMin = 30
	o, err := Observe(EHT2017(), s)
	if err != nil {
		t.Fatal(err)
	}
	if o.Len() >= 837 {
		t.Errorf("elevation cut 30° kept %d rows", o.Len())
	}
	for k := 0; k < o.Len(); k++ {
		if o.El1[k] <= 30 || o.El2[k] <= 30 {
			t.Fatalf("row %d below the cut", k)
		}
	}
}
