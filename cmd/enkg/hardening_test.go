package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/interferometry"
	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/pde"
)

// Regression tests of issue 15 (hardening) for grf, ns, demo, prior and eht.

// sameBytes fails unless path still holds want.
func sameBytes(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s changed (err %v)", path, err)
	}
}

// TestNSSimulateOutIsInput: --out equal to --in (or to the --forcing file) lost the input.
func TestNSSimulateOutIsInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "w0.npy")
	if err := datasets.SaveNPY(in, []int{8, 8}, make([]float64, 64)); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(in)
	f := filepath.Join(dir, "f.npy")
	datasets.SaveNPY(f, []int{8, 8}, make([]float64, 64))
	base := nsSimulateOptions{in: in, out: in, time: 0.1, re: 200, forcing: "kolmogorov", quiet: true, stride: 1, l1: 1, l2: 1}
	if err := runNSSimulate(context.Background(), base, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "output is also an input") {
		t.Errorf("--out = --in: %v", err)
	}
	sameBytes(t, in, raw)
	base.out, base.forcing = f, f
	if err := runNSSimulate(context.Background(), base, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "output is also an input") {
		t.Errorf("--out = --forcing: %v", err)
	}
	base.out, base.forcing = dir, "kolmogorov"
	if err := runNSSimulate(context.Background(), base, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("--out a directory: %v", err)
	}
	base.out, base.workers = filepath.Join(dir, "w.npy"), -1
	if err := runNSSimulate(context.Background(), base, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--workers must be ≥ 0") {
		t.Errorf("--workers -1: %v", err)
	}
}

// TestNSSimulateExtremeForcing: an extreme forcing made the adaptive step collapse and the
// command loop for ever with growing memory; now the step cap stops it with an error naming
// the member, the time and dt.
func TestNSSimulateExtremeForcing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "w0.npy")
	datasets.SaveNPY(in, []int{2, 16, 16}, make([]float64, 2*256))
	fpath := filepath.Join(dir, "f.npy")
	f := pde.Kolmogorov(16, 16, 0)
	for i := range f {
		f[i] *= 1e16
	}
	datasets.SaveNPY(fpath, []int{16, 16}, f)
	out := filepath.Join(dir, "w.npy")
	o := nsSimulateOptions{in: in, out: out, time: 1, re: 200, forcing: fpath, quiet: true, stride: 1, workers: 1, l1: 6.283185307179586, l2: 6.283185307179586}
	err := runNSSimulate(context.Background(), o, &bytes.Buffer{})
	if !errors.Is(err, pde.ErrStepCap) || !strings.Contains(err.Error(), "member 0") || !strings.Contains(err.Error(), "at t = 0") ||
		!strings.Contains(err.Error(), "dt = ") || !strings.Contains(err.Error(), "cap of") {
		t.Fatalf("err = %v, want the step cap naming member, time and dt", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output was written")
	}
}

// TestNSSimulateMemory: the memory of the stack and the solvers is checked first.
func TestNSSimulateMemory(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "w0.npy")
	datasets.SaveNPY(in, []int{4, 64, 64}, make([]float64, 4*64*64))
	t.Setenv(memlimit.Env, "256K")
	o := nsSimulateOptions{in: in, out: filepath.Join(dir, "w.npy"), time: 0.1, re: 200, forcing: "kolmogorov", quiet: true, stride: 1, workers: 2, l1: 1, l2: 1}
	err := runNSSimulate(context.Background(), o, &bytes.Buffer{})
	if !errors.Is(err, memlimit.ErrTooLarge) || !strings.Contains(err.Error(), "4 field(s) of 64×64 on 2 worker(s)") {
		t.Fatalf("err = %v", err)
	}
}

// TestGRFSampleHardening: --res 1…3 wrote all-zero fields; --out equal to --xi, a huge
// request and a negative --workers must fail before anything is written.
func TestGRFSampleHardening(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "w.npy")
	base := grfSampleOptions{res: 8, alpha: 2.5, tau: 7, length: 6.283185307179586, out: out}
	for res := 1; res <= 3; res++ {
		o := base
		o.res = res
		if err := runGRFSample(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--res must be ≥ 4") {
			t.Errorf("--res %d: %v", res, err)
		}
	}
	xi := filepath.Join(dir, "xi.npy")
	datasets.SaveNPY(xi, []int{2, 2, 2}, []float64{1, 2, 3, 4, 5, 6, 7, 8})
	raw, _ := os.ReadFile(xi)
	o := base
	o.res, o.xi = 0, xi
	if err := runGRFSample(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "every field would be zero") {
		t.Errorf("--xi of a 2×2 grid: %v", err)
	}
	o.out = xi
	if err := runGRFSample(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "output is also an input") {
		t.Errorf("--out = --xi: %v", err)
	}
	sameBytes(t, xi, raw)
	o = base
	o.n, o.res = 1_000_000, 4096
	if err := runGRFSample(context.Background(), o, &bytes.Buffer{}); !errors.Is(err, memlimit.ErrTooLarge) || !strings.Contains(err.Error(), "1000000 field(s) of 4096×4096") {
		t.Errorf("huge request: %v", err)
	}
	o = base
	o.workers = -3
	if err := runGRFSample(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--workers must be ≥ 0") {
		t.Errorf("--workers -3: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused run wrote --out")
	}
}

// TestDemoZeroFlags: demo --re/--res/--train/--members/--stride 0 silently used the
// defaults; now zero or negative values are errors naming the flag (the rule of every
// command: 0 is either documented, like --workers 0, or an error).
func TestDemoZeroFlags(t *testing.T) {
	for _, c := range []struct {
		flag string
		mod  func(*demoOptions)
	}{
		{"--re", func(o *demoOptions) { o.s.Re = 0 }},
		{"--res", func(o *demoOptions) { o.s.Res = 0 }},
		{"--train", func(o *demoOptions) { o.s.Train = 0 }},
		{"--members", func(o *demoOptions) { o.s.Members = 0 }},
		{"--stride", func(o *demoOptions) { o.s.Stride = 0 }},
		{"--steps", func(o *demoOptions) { o.s.Steps = -1 }},
		{"--spinup", func(o *demoOptions) { o.s.Spinup = 0 }},
		{"--t", func(o *demoOptions) { o.s.T = 0 }},
		{"--noise", func(o *demoOptions) { o.s.Noise = -1 }},
		{"--workers", func(o *demoOptions) { o.s.Workers = -1 }},
	} {
		dir := t.TempDir()
		o := demoTestOptions(dir)
		c.mod(&o)
		err := runDemo(context.Background(), o, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.flag+" must be") {
			t.Errorf("%s: err = %v", c.flag, err)
		}
		if _, err := os.Stat(o.data); err == nil {
			t.Errorf("%s: a refused run created %s", c.flag, o.data)
		}
	}
}

// TestDemoNoOverwriteAdvice: demo suggested an --overwrite flag it does not have when its
// cached training set could not be resumed.
func TestDemoNoOverwriteAdvice(t *testing.T) {
	dir := t.TempDir()
	o := demoTestOptions(dir)
	s, _ := o.s.Resolve()
	path := demoDataPath(o.data, s, o.dataSeed)
	os.MkdirAll(o.data, 0o755)
	os.WriteFile(path, []byte("not an HDF5 file"), 0o644)
	err := runDemo(context.Background(), o, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || strings.Contains(err.Error(), "--overwrite") || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("err = %v, want advice without --overwrite", err)
	}
}

// TestPriorDenoiseNonFinite: σ = 1e39 wrote an all-NaN file and exited 0.
func TestPriorDenoiseNonFinite(t *testing.T) {
	ref := filepath.Join("..", "..", "diffusion", "unet", "testdata")
	dir := t.TempDir()
	sig := filepath.Join(dir, "s.npy")
	if err := datasets.SaveNPY(sig, []int{1}, []float64{1e39}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o.npy")
	rootCmd.SetArgs([]string{"prior", "denoise", "--out", out, "--weights", filepath.Join(ref, "A_weights.npz"),
		"--config", filepath.Join(ref, "A_config.json"), "--x", filepath.Join(ref, "A_x.npy"), "--sigma", sig})
	err := rootCmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "non-finite value") {
		t.Fatalf("err = %v, want a non-finite output error", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the all-NaN output was written")
	}
}

func TestCheckFinite(t *testing.T) {
	d := make([]float64, 24)
	if err := checkFinite("x", []int{2, 3, 4}, d); err != nil {
		t.Fatal(err)
	}
	d[1*12+2*4+3] = math.Inf(-1)
	err := checkFinite("x", []int{2, 3, 4}, d)
	if err == nil || !strings.Contains(err.Error(), "non-finite value -Inf at index [1 2 3] of shape [2 3 4]") {
		t.Fatalf("err = %v", err)
	}
}

// ehtTestObservation writes a 16×16 ring image and its observation, and returns their paths.
func ehtTestObservation(t *testing.T, dir string) (img, obs string) {
	t.Helper()
	img = filepath.Join(dir, "ring.npy")
	d := make([]float64, 256)
	for i := range 16 {
		for j := range 16 {
			if r := math.Hypot(float64(i)-7.5, float64(j)-7.5); r > 3 && r < 6 {
				d[i*16+j] = 0.01
			}
		}
	}
	if err := datasets.SaveNPY(img, []int{16, 16}, d); err != nil {
		t.Fatal(err)
	}
	obs = filepath.Join(dir, "obs.npz")
	o := ehtObserveOptions{image: img, fov: 160, array: "eht2017", s: interferometry.DefaultSettings(), out: obs}
	o.s.ElevMin, o.s.ElevMax = 10, 85
	if err := runEHTObserve(o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	return img, obs
}

// TestEHTHardening: NaN in the observed visibilities was reported as "a zero model
// visibility?"; --out equal to --image lost the image; `eht chisq --help` printed
// backticks in a flag's text.
func TestEHTHardening(t *testing.T) {
	dir := t.TempDir()
	img, obs := ehtTestObservation(t, dir)
	raw, _ := os.ReadFile(img)
	o := ehtObserveOptions{image: img, fov: 160, array: "eht2017", s: interferometry.DefaultSettings(), out: img}
	o.s.ElevMin, o.s.ElevMax = 10, 85
	if err := runEHTObserve(o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "output is also an input") {
		t.Errorf("--out = --image: %v", err)
	}
	sameBytes(t, img, raw)

	var out bytes.Buffer
	if err := runEHTChisq(img, obs, 160, &out); err != nil || !strings.Contains(out.String(), `"vis"`) {
		t.Fatalf("chisq: %v %s", err, out.String())
	}
	nums, strs, err := ehtReadNPZ(obs)
	if err != nil {
		t.Fatal(err)
	}
	nums["vis"].Complex[3] = complex(math.NaN(), 0)
	var entries []ehtEntry
	for k, a := range nums {
		entries = append(entries, ehtEntry{name: k, a: a})
	}
	for k, s := range strs {
		entries = append(entries, ehtEntry{name: k, strs: s})
	}
	bad := filepath.Join(dir, "bad.npz")
	if err := ehtWriteNPZ(bad, entries); err != nil {
		t.Fatal(err)
	}
	err = runEHTChisq(img, bad, 160, &bytes.Buffer{})
	if err == nil || strings.Contains(err.Error(), "zero model visibility") || !strings.Contains(err.Error(), `array "vis": non-finite value`) {
		t.Errorf("NaN in the observed visibilities: %v", err)
	}

	var help bytes.Buffer
	rootCmd.SetOut(&help)
	rootCmd.SetArgs([]string{"eht", "chisq", "--help"})
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(help.String(), "`") || !strings.Contains(help.String(), "--obs string") {
		t.Errorf("eht chisq --help:\n%s", help.String())
	}
	help.Reset()
	rootCmd.SetArgs([]string{"eht", "--help"})
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	rootCmd.SetOut(nil)
	if strings.Contains(help.String(), "`") {
		t.Errorf("eht --help:\n%s", help.String())
	}
}

// TestGRFSampleNonFinite: an output that overflows is an error and is not written.
func TestGRFSampleNonFinite(t *testing.T) {
	out := filepath.Join(t.TempDir(), "w.npy")
	o := grfSampleOptions{res: 8, alpha: 2.5, tau: 7, sigma: 1e308, length: 6.283185307179586, out: out}
	err := runGRFSample(context.Background(), o, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "non-finite value") {
		t.Fatalf("sigma 1e308: err = %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a non-finite output was written")
	}
}
