package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/demo"
)

func demoTestOptions(dir string) demoOptions {
	s := demo.DefaultSettings()
	s.Res, s.Spinup, s.T, s.Train, s.Members, s.Steps, s.TruthSeed = 16, 0.5, 0.5, 6, 8, 4, 5
	return demoOptions{s: s, data: filepath.Join(dir, "data"), out: filepath.Join(dir, "out"), quiet: true}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	o := demoTestOptions(dir)
	var stdout, stderr bytes.Buffer
	if err := runDemo(context.Background(), o, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, want := range []string{"EnKG", "EKI", "prior mean", "rel. L2", "forward evals", "Outputs in " + o.out} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "prior: spectral Gaussian fitted to 6 fields") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	for _, f := range []string{"summary.json", "README.txt", "truth.npy", "observation.npy", "enkg_mean.npy", "eki_mean.npy",
		"enkg_ensemble.npy", "truth.png", "enkg_mean.png", "eki_error.png", "enkg_std.png", "misfit.png"} {
		if _, err := os.Stat(filepath.Join(o.out, f)); err != nil {
			t.Errorf("output %s: %v", f, err)
		}
	}
	data := demoDataPath(o.data, o.s, 0)
	prior := demoPriorPath(o.data, o.s, 0)
	for _, f := range []string{data, prior} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("cache %s: %v", f, err)
		}
	}
	first, _ := os.ReadFile(filepath.Join(o.out, "enkg_mean.npy"))

	// A second run reuses the dataset and the prior, and reproduces the results.
	stdout.Reset()
	stderr.Reset()
	if err := runDemo(context.Background(), o, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "is complete (6 fields 16×16), nothing to do") || !strings.Contains(stderr.String(), "prior: reusing") {
		t.Errorf("second run did not reuse the caches:\n%s", stderr.String())
	}
	second, _ := os.ReadFile(filepath.Join(o.out, "enkg_mean.npy"))
	if !bytes.Equal(first, second) {
		t.Error("a second run with the same seeds gives a different EnKG mean")
	}

	// The truth is field 0 of `enkg data ns --seed TruthSeed`, so it is held out of the
	// training set (seed 0).
	tp := filepath.Join(dir, "truth.h5")
	if err := runDataNS(context.Background(), dataNSOptions{n: 1, res: 16, spinup: 0.5, re: 200, seed: 5, alpha: 2.5, tau: 7, out: tp, quiet: true}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	want := readAllMembers(t, tp)[0]
	got, err := demo.Truth(context.Background(), o.s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("truth[%d] = %v, data ns member 0 = %v", i, got[i], want[i])
		}
	}

	// A corrupt cached prior is reported, not silently refitted.
	if err := os.WriteFile(prior, []byte("not an npz"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runDemo(context.Background(), o, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "cached prior") {
		t.Errorf("corrupt prior: %v", err)
	}
}

func TestDemoBadInput(t *testing.T) {
	o := demoTestOptions(t.TempDir())
	o.s.TruthSeed = 0
	if err := runDemo(context.Background(), o, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "truth would be a training field") {
		t.Errorf("truth seed = data seed: %v", err)
	}
	o = demoTestOptions(t.TempDir())
	o.s.Res = 15
	if err := runDemo(context.Background(), o, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "Res 15") {
		t.Errorf("odd res: %v", err)
	}
}
