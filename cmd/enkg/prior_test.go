package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
)

// TestPriorDenoiseReference runs `enkg prior denoise` on the reference case B (VPPrecond +
// SongUNet) with its <case>_config.json, and on case A with a float32 output, and compares
// D with the PyTorch output (README tolerance 1e-5·max|ref|).
func TestPriorDenoiseReference(t *testing.T) {
	ref := filepath.Join("..", "..", "diffusion", "unet", "testdata")
	for _, c := range []struct {
		name, weights string
		f32           bool
	}{{"B", "BCD_weights.npz", false}, {"A", "A_weights.npz", true}} {
		out := filepath.Join(t.TempDir(), "sub", "D.npy")
		rootCmd.SetArgs([]string{"prior", "denoise", "--weights", filepath.Join(ref, c.weights),
			"--config", filepath.Join(ref, c.name+"_config.json"), "--x", filepath.Join(ref, c.name+"_x.npy"),
			"--sigma", filepath.Join(ref, c.name+"_sigma.npy"), "--out", out, "--float32=" + map[bool]string{true: "true", false: "false"}[c.f32]})
		if err := rootCmd.Execute(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := datasets.LoadNPY(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := datasets.LoadNPY(filepath.Join(ref, c.name+"_D.npy"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Shape) != 4 || got.Shape[0] != 3 || got.Shape[1] != 1 || got.Shape[2] != 16 || got.Shape[3] != 16 {
			t.Fatalf("%s: shape %v", c.name, got.Shape)
		}
		if c.f32 != (got.Dtype == "<f4") {
			t.Errorf("%s: dtype %s", c.name, got.Dtype)
		}
		var md, mr float64
		for i, w := range want.Data {
			md = max(md, math.Abs(got.Data[i]-w))
			mr = max(mr, math.Abs(w))
		}
		if md > 1e-5*mr {
			t.Errorf("%s: max|D − D_torch| = %.3g > 1e-5·%.3g", c.name, md, mr)
		}
	}
}

// TestPriorDenoiseErrors: wrong weights for the description, a wrong image shape and a
// wrong number of sigmas are errors that say what is wrong.
func TestPriorDenoiseErrors(t *testing.T) {
	ref := filepath.Join("..", "..", "diffusion", "unet", "testdata")
	dir := t.TempDir()
	bad := filepath.Join(dir, "x.npy")
	if err := datasets.SaveNPY(bad, []int{2, 1, 8, 8}, make([]float64, 128)); err != nil {
		t.Fatal(err)
	}
	sig2 := filepath.Join(dir, "s2.npy")
	if err := datasets.SaveNPY(sig2, []int{2}, []float64{1, 2}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--weights", filepath.Join(ref, "A_weights.npz"), "--config", filepath.Join(ref, "B_config.json"), "--x", filepath.Join(ref, "B_x.npy"), "--sigma", filepath.Join(ref, "B_sigma.npy")}, "has shape"},
		{[]string{"--weights", filepath.Join(ref, "A_weights.npz"), "--config", filepath.Join(ref, "A_config.json"), "--x", bad, "--sigma", filepath.Join(ref, "A_sigma.npy")}, "want (N, 1, 16, 16)"},
		{[]string{"--weights", filepath.Join(ref, "A_weights.npz"), "--config", filepath.Join(ref, "A_config.json"), "--x", filepath.Join(ref, "A_x.npy"), "--sigma", sig2}, "2 values"},
	} {
		rootCmd.SetArgs(append([]string{"prior", "denoise", "--out", filepath.Join(dir, "o.npy")}, c.args...))
		err := rootCmd.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}
