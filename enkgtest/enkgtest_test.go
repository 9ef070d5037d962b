package enkgtest

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/figures"
)

func TestCompareFindsWorst(t *testing.T) {
	want := []float64{1, 2, 3, 4}
	got := []float64{1, 2.001, 3.5, 4}
	d := Compare(got, want, Tol{Rel: 1e-2})
	if d.Violations != 1 || d.Worst != 2 || d.Got != 3.5 || d.Want != 3 {
		t.Fatalf("Compare = %+v", d)
	}
	if math.Abs(d.MaxAbs-0.5) > 1e-15 {
		t.Errorf("MaxAbs %v", d.MaxAbs)
	}
	if !strings.Contains(d.String(), "worst at index 2") {
		t.Errorf("message %q does not name the worst index", d)
	}
	if d := Compare([]float64{math.NaN()}, []float64{1}, Tol{Abs: 1}); d.Violations != 1 {
		t.Errorf("NaN not reported: %+v", d)
	}
	if d := Compare([]float64{1 + 1e-13}, []float64{1}, Tol{Rel: 1e-12}); d.Violations != 0 {
		t.Errorf("within tolerance reported: %+v", d)
	}
}

// fakeTB records failures instead of failing the test.
type fakeTB struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Errorf(format string, a ...any) { f.failed = true; f.msg = format }

func TestCloseReportsFailure(t *testing.T) {
	f := &fakeTB{TB: t}
	if Close(f, "x", []float64{1, 2}, []float64{1, 3}, Tol{Rel: 1e-9}) || !f.failed {
		t.Error("Close accepted a wrong value")
	}
	f = &fakeTB{TB: t}
	if !Close(f, "x", []float64{1, 2}, []float64{1, 2}, Tol{}) || f.failed {
		t.Error("Close rejected equal values")
	}
}

func TestGoldenUpdateAndCompare(t *testing.T) {
	p := filepath.Join(t.TempDir(), "g", "field.npy")
	data := []float64{0.5, -1, 2, 3}
	if err := flag.Set("update", "true"); err != nil {
		t.Fatal(err)
	}
	Golden(t, p, []int{2, 2}, data, Tol{})
	if err := flag.Set("update", "false"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("golden not written: %v", err)
	}
	Golden(t, p, []int{2, 2}, data, Tol{})
}

func TestArtifactDirFromEnv(t *testing.T) {
	base := t.TempDir()
	t.Setenv("ENKG_ARTIFACTS", base)
	p := SaveNPY(t, "a.npy", []int{3}, []float64{1, 2, 3})
	if !strings.HasPrefix(p, base) {
		t.Errorf("artifact %s not under %s", p, base)
	}
	if _, err := os.Stat(p); err != nil {
		t.Error(err)
	}
}

func TestSeedOverride(t *testing.T) {
	t.Setenv("ENKG_SEED", "99")
	if s := Seed(t, 1); s != 99 {
		t.Errorf("Seed = %d, want 99", s)
	}
	a, b := RNG(t, 5).Uint64(), RNG(t, 5).Uint64()
	if a != b {
		t.Error("RNG not reproducible")
	}
}

func TestSaveNPZLinesJSON(t *testing.T) {
	t.Setenv("ENKG_ARTIFACTS", t.TempDir())
	p := SaveNPZ(t, "r.npz", Entry{"a", []int{2, 2}, []float64{1, 2, 3, 4}}, Entry{"b", []int{1}, []float64{5}})
	m, err := datasets.LoadNPZ(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := m["a"]; got == nil || !sameShape(got.Shape, []int{2, 2}) || got.Data[3] != 4 {
		t.Errorf("a = %+v", got)
	}
	if got := m["b"]; got == nil || got.Data[0] != 5 {
		t.Errorf("b = %+v", got)
	}
	l := figures.Lines{Title: "t", XLabel: "x", YLabel: "y", Series: []figures.Series{{Name: "s", X: []float64{1, 2}, Y: []float64{3, 4}}}}
	if fi, err := os.Stat(SaveLines(t, "l.png", l)); err != nil || fi.Size() == 0 {
		t.Errorf("line plot not written: %v", err)
	}
	b, err := os.ReadFile(SaveJSON(t, "s.json", map[string]float64{"x": 1.5}))
	if err != nil || !strings.Contains(string(b), `"x": 1.5`) {
		t.Errorf("json = %q, %v", b, err)
	}
}
