package pde

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/enkg-go/enkg/datasets"
)

// numpyPython returns a python3 that can import numpy, or skips the test.
func numpyPython(tb testing.TB) string {
	tb.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		p, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", "import numpy").Run() == nil {
			return p
		}
	}
	tb.Skip("python3 with numpy not available (Debian package python3-numpy)")
	return ""
}

// TestAgainstNumpyNonSquare compares forced, nonlinear solves on non-square grids and
// domains with bench/ns_numpy.py, an independent numpy implementation of the same scheme
// (which uses 2π/L2 for ∂/∂y, and matches the published reference cases to 1e-14). The
// 64×16 grid puts the k2 Nyquist column inside the dealiasing mask.
func TestAgainstNumpyNonSquare(t *testing.T) {
	py := numpyPython(t)
	dir := t.TempDir()
	re := regexp.MustCompile(`steps=(\d+)`)
	for _, c := range []struct {
		nx, ny int
		l1, l2 float64
		dt     float64
	}{
		{64, 32, 2 * math.Pi, math.Pi, 0},
		{64, 16, 2 * math.Pi, 2 * math.Pi, 0},
		{32, 48, 3, 4.5, 0},
		{48, 32, 2 * math.Pi, 5, 2e-3},
	} {
		name := fmt.Sprintf("%dx%d_L%.3gx%.3g", c.nx, c.ny, c.l1, c.l2)
		w0 := make([]float64, c.nx*c.ny)
		for i := 0; i < c.nx; i++ {
			for j := 0; j < c.ny; j++ {
				x := 2 * math.Pi * float64(i) / float64(c.nx)
				y := 2 * math.Pi * float64(j) / float64(c.ny)
				w0[i*c.ny+j] = 3*math.Sin(x+2*y) + 2*math.Cos(3*x-y) + math.Sin(5*x)*math.Cos(4*y+1) + 0.5*math.Cos(7*y)
			}
		}
		in, out := filepath.Join(dir, name+"_w0.npy"), filepath.Join(dir, name+"_w.npy")
		if err := datasets.SaveNPY(in, []int{c.nx, c.ny}, w0); err != nil {
			t.Fatal(err)
		}
		const T, Re = 0.5, 100.0
		args := []string{"bench/ns_numpy.py", in, out, "--T", "0.5", "--Re", "100",
			"--L1", strconv.FormatFloat(c.l1, 'g', -1, 64), "--L2", strconv.FormatFloat(c.l2, 'g', -1, 64),
			"--dt", strconv.FormatFloat(c.dt, 'g', -1, 64)}
		cmd := exec.Command(py, args...)
		cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
		o, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", name, err, o)
		}
		m := re.FindSubmatch(o)
		if m == nil {
			t.Fatalf("%s: output %q", name, o)
		}
		want, err := datasets.LoadNPY(out)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSolver(c.nx, c.ny, &Settings{L1: c.l1, L2: c.l2, Re: Re, Dt: c.dt})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, len(w0))
		if err := s.Solve(context.Background(), got, w0, T); err != nil {
			t.Fatal(err)
		}
		e := relL2(got, want.Data)
		t.Logf("%s: %d steps (numpy %s), relative L2 %.3g", name, s.Stats().Steps, m[1], e)
		if strconv.Itoa(s.Stats().Steps) != string(m[1]) {
			t.Errorf("%s: %d steps, numpy %s", name, s.Stats().Steps, m[1])
		}
		if e > 1e-11 {
			t.Errorf("%s: relative L2 difference %.3g > 1e-11", name, e)
		}
	}
}
