package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
)

// readmePython is the Python snippet of the README's "Science scripts" section, which loads
// what TestMinimalScript exports with -enkg.artifacts $PWD/out/examples.
const readmePython = `import numpy as np
r = np.load("out/examples/TestMinimalScript/result.npz")
truth, mean, std = r["truth"], r["mean"], r["std"]
print(mean.shape, np.linalg.norm(mean - truth) / np.linalg.norm(truth))
`

// TestReadmePythonSnippet runs the README's Python lines on a result.npz written the way
// TestMinimalScript writes it (enkgtest.SaveNPZ → datasets.SaveNPZList), and checks what they
// print. It skips when python3 with numpy is not installed.
func TestReadmePythonSnippet(t *testing.T) {
	py := ""
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(c); err == nil && exec.Command(p, "-c", "import numpy").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		t.Skip("no python3 with numpy (Debian: python3-numpy)")
	}
	dir := t.TempDir()
	res := filepath.Join(dir, "out", "examples", "TestMinimalScript")
	if err := os.MkdirAll(res, 0o755); err != nil {
		t.Fatal(err)
	}
	truth, mean := []float64{1, 0, 0, 0}, []float64{1, 0.5, 0, 0}
	arr := func(d []float64) *datasets.Array { return &datasets.Array{Shape: []int{2, 2}, Data: d} }
	err := datasets.SaveNPZList(filepath.Join(res, "result.npz"), []datasets.NamedArray{
		{Name: "truth", Array: arr(truth)}, {Name: "mean", Array: arr(mean)}, {Name: "std", Array: arr(make([]float64, 4))}}, false)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", readmePython)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "(2, 2) 0.5" {
		t.Errorf("python printed %q, want %q", got, "(2, 2) 0.5")
	}
}
