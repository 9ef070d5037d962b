// Package enkgtest helps write science scripts as Go tests: a _test.go file that sets up an
// inverse problem, runs a solver, asserts what must hold, and exports arrays for Python.
//
// It provides
//   - array comparison with relative/absolute tolerances and readable failures (worst index,
//     values, norms): |got_k − want_k| ≤ Abs + Rel·|want_k| for every k;
//   - golden .npy files, regenerated with `go test -update`;
//   - artifact export (.npy, .npz, JSON, field and line-plot PNG) to the directory named by `-enkg.artifacts` or the
//     ENKG_ARTIFACTS environment variable, and to t.TempDir() otherwise;
//   - seeded random generators whose seed is logged (and overridable with ENKG_SEED);
//   - Long(t), which skips long studies under `go test -short`.
package enkgtest

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/figures"
	"github.com/enkg-go/enkg/rng"
)

var (
	update       = flagBool("update", "regenerate golden files (enkgtest)")
	artifactsDir = flag.String("enkg.artifacts", "", "directory for exported arrays and figures (default: $ENKG_ARTIFACTS, else a temporary directory)")
)

// flagBool registers a bool flag unless the test binary already has one of that name, in
// which case it shares it.
func flagBool(name, usage string) func() bool {
	if flag.Lookup(name) == nil {
		flag.Bool(name, false, usage)
	}
	return func() bool {
		f := flag.Lookup(name)
		if f == nil {
			return false
		}
		b, _ := strconv.ParseBool(f.Value.String())
		return b
	}
}

// Updating reports whether golden files are being regenerated (`go test -update`).
func Updating() bool { return update() }

// Tol is an element-wise tolerance: |got − want| ≤ Abs + Rel·|want|.
type Tol struct{ Rel, Abs float64 }

// Diff summarises the difference between two arrays.
type Diff struct {
	N          int     // number of elements
	Worst      int     // index of the element that exceeds its tolerance the most (−1 if none compared)
	Got, Want  float64 // values at Worst
	MaxAbs     float64 // max |got − want|
	RelL2      float64 // ‖got − want‖ / ‖want‖ (‖got − want‖ if want is zero)
	Violations int     // number of elements outside the tolerance (NaN mismatches included)
}

// Compare returns the summary of got against want under tol. Lengths must be equal.
func Compare(got, want []float64, tol Tol) Diff {
	d := Diff{N: len(want), Worst: -1}
	var num, den, worst float64
	worst = math.Inf(-1)
	for k := range want {
		g, w := got[k], want[k]
		if math.IsNaN(g) || math.IsNaN(w) {
			if !(math.IsNaN(g) && math.IsNaN(w)) {
				d.Violations++
				if worst < math.Inf(1) {
					worst, d.Worst, d.Got, d.Want = math.Inf(1), k, g, w
				}
			}
			continue
		}
		e := math.Abs(g - w)
		if g == w { // equal infinities too
			e = 0
		}
		num += e * e
		den += w * w
		d.MaxAbs = math.Max(d.MaxAbs, e)
		allowed := tol.Abs + tol.Rel*math.Abs(w)
		if e > allowed {
			d.Violations++
		}
		// Excess relative to what is allowed; ties broken by the larger error.
		ex := e - allowed
		if ex > worst {
			worst, d.Worst, d.Got, d.Want = ex, k, g, w
		}
	}
	if den > 0 {
		d.RelL2 = math.Sqrt(num / den)
	} else {
		d.RelL2 = math.Sqrt(num)
	}
	return d
}

// String formats the summary for a failure message.
func (d Diff) String() string {
	return fmt.Sprintf("%d of %d elements outside tolerance; worst at index %d: got %.17g, want %.17g (|diff| %.3g); max|diff| %.3g, relative L2 %.3g",
		d.Violations, d.N, d.Worst, d.Got, d.Want, math.Abs(d.Got-d.Want), d.MaxAbs, d.RelL2)
}

// Close fails t (without stopping it) when got and want differ beyond tol, with a message
// naming the worst element. It returns whether they matched.
func Close(t testing.TB, name string, got, want []float64, tol Tol) bool {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: length %d, want %d", name, len(got), len(want))
		return false
	}
	d := Compare(got, want, tol)
	if d.Violations > 0 {
		t.Errorf("%s: %v (tolerance rel %g abs %g)", name, d, tol.Rel, tol.Abs)
		return false
	}
	return true
}

// Golden compares got (of the given shape) with the golden file path (.npy). With -update it
// writes the file instead. A missing golden file is an error that says how to create it.
func Golden(t testing.TB, path string, shape []int, got []float64, tol Tol) {
	t.Helper()
	if Updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := datasets.SaveNPY(path, shape, got); err != nil {
			t.Fatalf("updating golden %s: %v", path, err)
		}
		t.Logf("updated golden file %s", path)
		return
	}
	want, err := datasets.LoadNPY(path)
	if err != nil {
		if os.IsNotExist(err) {
			t.Fatalf("golden file %s is missing: run `go test -run '%s' -update` to create it", path, t.Name())
		}
		t.Fatalf("golden file %s: %v", path, err)
	}
	if !sameShape(want.Shape, shape) {
		t.Fatalf("golden file %s has shape %v, result has shape %v", path, want.Shape, shape)
	}
	Close(t, "golden "+filepath.Base(path), got, want.Data, tol)
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ArtifactDir returns the directory where this test exports its arrays and figures:
// <dir>/<test name> where dir is -enkg.artifacts or $ENKG_ARTIFACTS, or t.TempDir() if
// neither is set (so exports cost nothing unless asked for).
func ArtifactDir(t testing.TB) string {
	t.Helper()
	base := *artifactsDir
	if base == "" {
		base = os.Getenv("ENKG_ARTIFACTS")
	}
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifact directory: %v", err)
	}
	return dir
}

// SaveNPY exports an array to ArtifactDir(t)/name and returns the path.
func SaveNPY(t testing.TB, name string, shape []int, data []float64) string {
	t.Helper()
	p := filepath.Join(ArtifactDir(t), name)
	if err := datasets.SaveNPY(p, shape, data); err != nil {
		t.Fatalf("export %s: %v", name, err)
	}
	return p
}

// SavePNG exports a field figure (rows×cols) to ArtifactDir(t)/name and returns the path.
func SavePNG(t testing.TB, name string, field []float64, rows, cols int, opt figures.Options) string {
	t.Helper()
	p := filepath.Join(ArtifactDir(t), name)
	if err := figures.SaveField(p, field, rows, cols, opt); err != nil {
		t.Fatalf("export %s: %v", name, err)
	}
	return p
}

// Seed returns the seed a test should use: ENKG_SEED when set, else def. It logs the value so
// that a failure can be reproduced.
func Seed(t testing.TB, def uint64) uint64 {
	t.Helper()
	s := def
	if v := os.Getenv("ENKG_SEED"); v != "" {
		p, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ENKG_SEED=%q is not an unsigned integer", v)
		}
		s = p
	}
	t.Logf("seed %d (set ENKG_SEED to change)", s)
	return s
}

// RNG returns a generator seeded by Seed(t, def).
func RNG(t testing.TB, def uint64) *rand.Rand {
	t.Helper()
	return rng.New(Seed(t, def))
}

// Long skips a long study under `go test -short`.
func Long(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("long study: skipped under -short")
	}
}

var full = flag.Bool("enkg.full", false, "run studies at full size (default: $ENKG_FULL=1, else the short form)")

// Full reports whether studies should run at full size: `-enkg.full` or ENKG_FULL=1. Studies
// run a short form by default so that `make test` stays fast.
func Full() bool {
	return *full || os.Getenv("ENKG_FULL") == "1"
}

// Entry is one named array of an .npz export (shape and row-major data).
type Entry struct {
	Name  string
	Shape []int
	Data  []float64
}

// SaveNPZ exports the arrays to ArtifactDir(t)/name as an uncompressed .npz archive (keys in
// the given order; numpy.load(path)[entry.Name]) and returns the path.
func SaveNPZ(t testing.TB, name string, entries ...Entry) string {
	t.Helper()
	arrays := make([]datasets.NamedArray, len(entries))
	for i, e := range entries {
		n := 1
		for _, d := range e.Shape {
			n *= d
		}
		if n != len(e.Data) {
			t.Fatalf("export %s: entry %q has shape %v but %d values", name, e.Name, e.Shape, len(e.Data))
		}
		arrays[i] = datasets.NamedArray{Name: e.Name, Array: &datasets.Array{Shape: e.Shape, Data: e.Data}}
	}
	p := filepath.Join(ArtifactDir(t), name)
	if err := datasets.SaveNPZList(p, arrays, false); err != nil {
		t.Fatalf("export %s: %v", name, err)
	}
	return p
}

// SaveLines exports a line plot (convergence or cost curves) to ArtifactDir(t)/name as PNG
// and returns the path.
func SaveLines(t testing.TB, name string, l figures.Lines) string {
	t.Helper()
	p := filepath.Join(ArtifactDir(t), name)
	if err := l.Save(p); err != nil {
		t.Fatalf("export %s: %v", name, err)
	}
	return p
}

// SaveJSON exports v as indented JSON to ArtifactDir(t)/name (a table of results, a run
// summary) and returns the path.
func SaveJSON(t testing.TB, name string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("export %s: %v", name, err)
	}
	p := filepath.Join(ArtifactDir(t), name)
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		t.Fatalf("export %s: %v", name, err)
	}
	return p
}
