package diffusion

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"gonum.org/v1/gonum/mat"
)

func allPriors(t *testing.T) map[string]Prior {
	t.Helper()
	diag, _ := NewDiagGaussian([]float64{1, 2, 3, 4}, []float64{0.5, 1, 2, 3})
	full, err := NewGaussian([]float64{0, 1, 0, -1}, mat.NewSymDense(4, []float64{
		2, 0.5, 0, 0, 0.5, 1, 0.2, 0, 0, 0.2, 1, 0.1, 0, 0, 0.1, 0.7}))
	if err != nil {
		t.Fatal(err)
	}
	spec := randomSpectral(t, 2, 2)
	gd, gf := testMixtures(t)
	_ = gd
	// Mixtures of dimension 4 to share the test input.
	gd4, _ := NewGMMDiag([]float64{1, 2}, mat.NewDense(2, 4, []float64{0, 0, 0, 0, 3, 3, 3, 3}), mat.NewDense(2, 4, []float64{1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5}))
	emp, _ := NewEmpirical(randomData(30, 4, 9), EmpiricalSettings{})
	diag.Norm = Affine{Scale: 10}
	spec.Norm = Affine{Scale: 2, Shift: -1}
	_ = gf
	return map[string]Prior{"diag": diag, "full": full, "spectral": spec, "gmm_diag": gd4, "gmm_full": gf, "empirical": emp}
}

func TestSaveLoadPriors(t *testing.T) {
	dir := t.TempDir()
	for name, p := range allPriors(t) {
		path := filepath.Join(dir, name+".npz")
		if err := SavePrior(path, p); err != nil {
			t.Fatal(name, err)
		}
		q, err := LoadPrior(path)
		if err != nil {
			t.Fatal(name, err)
		}
		d := p.Dim()
		x := randomData(3, d, 4)
		a, b := mat.NewDense(3, d, nil), mat.NewDense(3, d, nil)
		for _, sigma := range []float64{0, 0.5, 5} {
			_ = p.Denoise(context.Background(), a, x, sigma)
			if err := q.Denoise(context.Background(), b, x, sigma); err != nil {
				t.Fatal(name, err)
			}
			for i := 0; i < 3; i++ {
				closeVec(t, name+" round trip", b.RawRowView(i), a.RawRowView(i), 1e-13)
			}
		}
		if got, want := normOf(q), normOf(p); got.scale() != want.scale() || got.Shift != want.Shift {
			t.Errorf("%s: normalisation %+v, want %+v", name, got, want)
		}
	}
}

func normOf(p Prior) Affine {
	switch g := p.(type) {
	case *DiagGaussian:
		return g.Norm
	case *Gaussian:
		return g.Norm
	case *SpectralGaussian:
		return g.Norm
	case *GMM:
		return g.Norm
	case *Empirical:
		return g.Norm
	}
	return Affine{}
}

// numpy reads the file and sees the documented keys.
func TestSavePriorNumpy(t *testing.T) {
	py := ""
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(c, "-c", "import numpy").Run() == nil {
			py = c
			break
		}
	}
	if py == "" {
		t.Skip("python3 with numpy (Debian python3-numpy) not available")
	}
	path := filepath.Join(t.TempDir(), "p.npz")
	if err := SavePrior(path, allPriors(t)["diag"]); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `import numpy as np, sys
z = np.load(sys.argv[1])
print(bytes(z["kind"]).decode(), z["norm"].tolist(), z["mean"].tolist(), z["var"].tolist())`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "diag_gaussian [10.0, 0.0] [1.0, 2.0, 3.0, 4.0] [0.5, 1.0, 2.0, 3.0]" {
		t.Fatalf("numpy sees %q", got)
	}
}

func TestLoadPriorBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, m map[string]*datasets.Array) string {
		p := filepath.Join(dir, name)
		if err := datasets.SaveNPZ(p, m); err != nil {
			t.Fatal(err)
		}
		return p
	}
	kind := func(s string) *datasets.Array {
		b := make([]float64, len(s))
		for i := range s {
			b[i] = float64(s[i])
		}
		return &datasets.Array{Shape: []int{len(s)}, Data: b, Dtype: "|u1"}
	}
	if _, err := LoadPrior(write("a.npz", map[string]*datasets.Array{"kind": kind("nonsense")})); !errors.Is(err, ErrFormat) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := LoadPrior(write("b.npz", map[string]*datasets.Array{"kind": kind("gaussian"), "mean": {Shape: []int{2}, Data: []float64{0, 0}}})); !errors.Is(err, ErrFormat) {
		t.Errorf("missing cov: %v", err)
	}
	p := write("c.npz", map[string]*datasets.Array{"kind": kind("gaussian"), "mean": {Shape: []int{2}, Data: []float64{0, 0}},
		"cov": {Shape: []int{2, 2}, Data: []float64{1, 2, 2, 1}}})
	if _, err := LoadPrior(p); !errors.Is(err, ErrParam) {
		t.Errorf("indefinite covariance in file: %v", err)
	}
	if _, err := LoadPrior(filepath.Join(dir, "missing.npz")); err == nil {
		t.Error("missing file accepted")
	}
}
