package pde

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/spectral"
)

func load(t testing.TB, name string) *datasets.Array {
	t.Helper()
	a, err := datasets.LoadNPY(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func relL2(a, b []float64) float64 {
	var num, den float64
	for i := range a {
		d := a[i] - b[i]
		num += d * d
		den += b[i] * b[i]
	}
	return math.Sqrt(num / den)
}

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// refCase is one solve of the published solver with its recorded output and step sizes.
type refCase struct {
	name   string
	in     string
	out    string
	dts    string  // recorded adaptive steps ("" for fixed-step cases)
	T, dt  float64 // dt > 0: fixed step
	re     float64
	forced bool
}

var refCases = []refCase{
	{name: "a0 forward", in: "a_seed0_x.npy", out: "a_seed0_yfull.npy", dts: "a_seed0_dts_fwd.npy", T: 1, re: 200, forced: true},
	{name: "a1 forward", in: "a_seed1_x.npy", out: "a_seed1_yfull.npy", dts: "a_seed1_dts_fwd.npy", T: 1, re: 200, forced: true},
	{name: "a0 spin-up", in: "a_seed0_w0.npy", out: "a_seed0_x.npy", dts: "a_seed0_dts_spinup.npy", T: 5, re: 200, forced: true},
	{name: "a1 spin-up", in: "a_seed1_w0.npy", out: "a_seed1_x.npy", dts: "a_seed1_dts_spinup.npy", T: 5, re: 200, forced: true},
	{name: "b 64²", in: "b_seed100_w0.npy", out: "b_seed100_yfull.npy", dts: "b_seed100_dts_fwd.npy", T: 1, re: 200, forced: true},
	{name: "c T=0.001", in: "a_seed0_x.npy", out: "c_w_T0.001.npy", T: 0.001, dt: 1e-3, re: 200, forced: true},
	{name: "c T=0.01", in: "a_seed0_x.npy", out: "c_w_T0.01.npy", T: 0.01, dt: 1e-3, re: 200, forced: true},
	{name: "c T=0.1", in: "a_seed0_x.npy", out: "c_w_T0.1.npy", T: 0.1, dt: 1e-3, re: 200, forced: true},
	{name: "c T=0.5", in: "a_seed0_x.npy", out: "c_w_T0.5.npy", T: 0.5, dt: 1e-3, re: 200, forced: true},
	{name: "d Taylor–Green", in: "d_w0.npy", out: "d_wT.npy", T: 1, dt: 1e-3, re: 100},
}

// TestReferenceCases reproduces every case of the published solver (testdata/README.md):
// relative L2 ≤ 1e-9 and, for adaptive cases, the same number of steps with step sizes
// equal to 1e-12 relative.
func TestReferenceCases(t *testing.T) {
	for _, c := range refCases {
		if testing.Short() && c.T == 5 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			in, want := load(t, c.in), load(t, c.out)
			nx, ny := in.Shape[0], in.Shape[1]
			set := Settings{Re: c.re, Dt: c.dt, NoForcing: !c.forced}
			s, err := NewSolver(nx, ny, &set)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float64, nx*ny)
			if err := s.Solve(context.Background(), got, in.Data, c.T); err != nil {
				t.Fatal(err)
			}
			e := relL2(got, want.Data)
			t.Logf("%s: %d steps, relative L2 %.3g, max abs %.3g", c.name, s.Stats().Steps, e, maxAbsDiff(got, want.Data))
			if e > 1e-9 {
				t.Errorf("relative L2 error %.3g > 1e-9", e)
			}
			st := s.Stats()
			if c.dts == "" {
				if wantSteps := int(math.Ceil(c.T/c.dt - 1e-9)); st.Steps != wantSteps && st.Steps != wantSteps+1 {
					t.Errorf("%d fixed steps, want about %d", st.Steps, wantSteps)
				}
				return
			}
			dts := load(t, c.dts).Data
			if st.Steps != len(dts) {
				t.Fatalf("%d adaptive steps, published solver took %d", st.Steps, len(dts))
			}
			worst := 0.0
			for i, d := range dts {
				worst = math.Max(worst, math.Abs(st.Dts[i]-d)/d)
			}
			// The last step is T minus an accumulated sum: its relative difference is larger.
			last := len(dts) - 1
			if worst > 1e-9 || math.Abs(st.Dts[last]-dts[last]) > 1e-12 {
				t.Errorf("step sizes differ from the published ones: max relative %.3g", worst)
			}
		})
	}
}

// TestPublishedForcing checks that the default Kolmogorov forcing equals the arrays the
// published solver used (they were built with torch.linspace).
func TestPublishedForcing(t *testing.T) {
	for _, name := range []string{"forcing_128.npy", "forcing_64.npy"} {
		f := load(t, name)
		got := Kolmogorov(f.Shape[0], f.Shape[1], 0)
		if d := maxAbsDiff(got, f.Data); d > 5e-14 {
			t.Errorf("%s: max difference %.3g", name, d)
		}
	}
}

// TestGRFToSolution runs the whole published pipeline of case b: the standard normals ξ
// → GaussianRF2d sample (package spectral) → solve to T = 1 (98 adaptive steps).
func TestGRFToSolution(t *testing.T) {
	xi := load(t, "b_seed100_xi.npy")
	w0 := load(t, "b_seed100_w0.npy").Data
	want := load(t, "b_seed100_yfull.npy").Data
	g, err := spectral.NewGRF(64, 64, spectral.DefaultGRFSettings())
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, 64*64)
	g.FromNormals(w, xi.Data)
	if e := maxAbsDiff(w, w0); e > 1e-12 {
		t.Fatalf("GRF sample differs from b_seed100_w0.npy by %.3g", e)
	}
	s, err := NewSolver(64, 64, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Solve(context.Background(), w, w, 1); err != nil {
		t.Fatal(err)
	}
	if e := relL2(w, want); e > 1e-9 || s.Stats().Steps != 98 {
		t.Errorf("relative L2 %.3g, %d steps (want ≤ 1e-9, 98)", e, s.Stats().Steps)
	}
}
