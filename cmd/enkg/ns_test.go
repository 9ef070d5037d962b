package main

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/pde"
)

// TestNSSimulateTaylorGreen: a stack of two Taylor–Green fields, unforced, decays as
// exp(−2T/Re); the output keeps the (K, Nx, Ny) shape.
func TestNSSimulateTaylorGreen(t *testing.T) {
	dir := t.TempDir()
	const n = 32
	w0 := make([]float64, 2*n*n)
	for k := 0; k < 2; k++ {
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				x, y := 2*math.Pi*float64(i)/n, 2*math.Pi*float64(j)/n
				w0[k*n*n+i*n+j] = float64(k+1) * math.Cos(x) * math.Cos(y)
			}
		}
	}
	in, out := filepath.Join(dir, "w0.npy"), filepath.Join(dir, "w.npy")
	if err := datasets.SaveNPY(in, []int{2, n, n}, w0); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	o := nsSimulateOptions{in: in, out: out, time: 0.5, re: 100, forcing: "none", dt: 1e-3, l1: 2 * math.Pi, l2: 2 * math.Pi, workers: 2, stride: 1}
	if err := runNSSimulate(context.Background(), o, &log); err != nil {
		t.Fatal(err)
	}
	a, err := datasets.LoadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 3 || a.Shape[0] != 2 || a.Shape[1] != n || a.Shape[2] != n || a.Dtype != "<f8" {
		t.Fatalf("output shape %v dtype %s", a.Shape, a.Dtype)
	}
	decay := math.Exp(-2 * 0.5 / 100)
	for i, v := range a.Data {
		if math.Abs(v-w0[i]*decay) > 1e-11 {
			t.Fatalf("element %d: %v, exact %v", i, v, w0[i]*decay)
		}
	}
	if !strings.Contains(log.String(), "wrote [2 32 32] to "+out) || !strings.Contains(log.String(), "50.0% of simulated time") {
		t.Errorf("log %q", log.String())
	}
}

// TestNSSimulateFloat32Forced: a float32 (Nx, Ny) input with the default forcing equals the
// library solve of the converted field.
func TestNSSimulateFloat32Forced(t *testing.T) {
	dir := t.TempDir()
	const nx, ny = 16, 24
	w0 := make([]float64, nx*ny)
	for i := range w0 {
		w0[i] = math.Sin(0.37*float64(i)) * 3
	}
	in, out := filepath.Join(dir, "w0.npy"), filepath.Join(dir, "w.npy")
	if err := datasets.SaveNPYFloat32(in, []int{nx, ny}, w0); err != nil {
		t.Fatal(err)
	}
	o := nsSimulateOptions{in: in, out: out, time: 0.3, re: 200, forcing: "kolmogorov", l1: 2 * math.Pi, l2: 2 * math.Pi, stride: 1}
	if err := runNSSimulate(context.Background(), o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	a, err := datasets.LoadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := pde.NewSolver(nx, ny, nil)
	want := make([]float64, nx*ny)
	w64 := make([]float64, nx*ny)
	for i, v := range w0 {
		w64[i] = float64(float32(v))
	}
	if err := s.Solve(context.Background(), want, w64, 0.3); err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 2 || a.Shape[0] != nx || a.Shape[1] != ny {
		t.Fatalf("shape %v", a.Shape)
	}
	for i := range want {
		if a.Data[i] != want[i] {
			t.Fatalf("element %d: %v, library %v", i, a.Data[i], want[i])
		}
	}
	// --stride 3: shape (⌈16/3⌉, ⌈24/3⌉) = (6, 8), w[::3, ::3].
	o.stride = 3
	if err := runNSSimulate(context.Background(), o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if a, err = datasets.LoadNPY(out); err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 2 || a.Shape[0] != 6 || a.Shape[1] != 8 {
		t.Fatalf("stride 3: shape %v", a.Shape)
	}
	for i := 0; i < 6; i++ {
		for j := 0; j < 8; j++ {
			if a.Data[i*8+j] != want[3*i*ny+3*j] {
				t.Fatalf("stride 3: [%d,%d] differs", i, j)
			}
		}
	}
}

func TestNSSimulateErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "w0.npy")
	if err := datasets.SaveNPY(good, []int{8, 8}, make([]float64, 64)); err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(dir, "odd.npy")
	if err := datasets.SaveNPY(odd, []int{7, 8}, make([]float64, 56)); err != nil {
		t.Fatal(err)
	}
	nan := filepath.Join(dir, "nan.npy")
	d := make([]float64, 3*64)
	d[64+5] = math.NaN()
	if err := datasets.SaveNPY(nan, []int{3, 8, 8}, d); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "w.npy")
	base := nsSimulateOptions{in: good, out: out, time: 1, re: 200, forcing: "kolmogorov", l1: 1, l2: 1, stride: 1}
	for _, c := range []struct {
		mod  func(*nsSimulateOptions)
		want string
	}{
		{func(o *nsSimulateOptions) { o.in = "" }, "required"},
		{func(o *nsSimulateOptions) { o.re = 0 }, "--re"},
		{func(o *nsSimulateOptions) { o.time = -1 }, "--time"},
		{func(o *nsSimulateOptions) { o.dt = math.NaN() }, "--dt"},
		{func(o *nsSimulateOptions) { o.in = filepath.Join(dir, "missing.npy") }, "reading --in"},
		{func(o *nsSimulateOptions) { o.in = odd }, "even"},
		{func(o *nsSimulateOptions) { o.in = nan }, "member 1"},
		{func(o *nsSimulateOptions) { o.forcing = "sideways" }, "--forcing"},
		{func(o *nsSimulateOptions) { o.stride = 0 }, "--stride"},
	} {
		o := base
		c.mod(&o)
		err := runNSSimulate(context.Background(), o, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want mention of %q", o, err, c.want)
		}
	}
}
