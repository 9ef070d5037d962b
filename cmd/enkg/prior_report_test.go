package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/diffusion/report"
	"github.com/enkg-go/enkg/diffusion/unet"
	"github.com/enkg-go/enkg/problem"
)

// reportData writes a small `enkg data ns` set: n 16² fields, spun up for 0.25 at Re 100.
func reportData(t *testing.T, path string, n int, seed string) string {
	t.Helper()
	rootCmd.SetArgs([]string{"data", "ns", "--n", strconv.Itoa(n), "--res", "16", "--spinup", "0.25", "--re", "100", "--seed", seed,
		"--out", path, "--quiet", "--overwrite=false", "--float32=false", "--workers", "0"})
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPriorReport runs `enkg prior report` on the 16² reference U-Net (random weights) with
// HDF5 training and held-out sets of `enkg data ns`: every report file is written, the
// denoising table is the library's (report.Run with the same settings), and the summary
// line names the worst ratio.
func TestPriorReport(t *testing.T) {
	dir := t.TempDir()
	train := reportData(t, filepath.Join(dir, "train.h5"), 12, "3")
	held := reportData(t, filepath.Join(dir, "held.h5"), 4, "1000")
	weights, config := filepath.Join(unetRef, "BCD_weights.npz"), filepath.Join(unetRef, "C_config.json")
	out := filepath.Join(dir, "rep")
	var stdout bytes.Buffer
	rootCmd.SetOut(&stdout)
	defer rootCmd.SetOut(nil)
	rootCmd.SetArgs([]string{"prior", "report", "--weights", weights, "--config", config, "--data", held, "--train", train,
		"--out", out, "--samples", "3", "--steps", "3", "--sigmas", "0.5,1,4", "--seed", "2", "--force=false"})
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "worst network/Wiener MSE ratio over σ ∈ [0.5, 4]·std") {
		t.Errorf("stdout %q", stdout.String())
	}
	for _, f := range report.Files {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var js struct {
		Denoise []struct {
			Ratio, Sigma float64
		} `json:"denoise"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	// the library call with the same inputs and settings
	m, err := unet.Load(weights, config, unet.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := problem.ReadDataset(train, 0)
	if err != nil {
		t.Fatal(err)
	}
	he, err := problem.ReadDataset(held, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Run(context.Background(), m, tr.Fields, he.Fields, report.Settings{Nx: 16, Ny: 16, SigmaFactors: []float64{0.5, 1, 4},
		Samples: 3, Sampler: &diffusion.Sampler{Formulation: diffusion.EDM{SigmaMin: 0.002, SigmaMax: 80, Rho: 7}, Steps: 3, Solver: diffusion.Heun}, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(js.Denoise) != 3 {
		t.Fatalf("report.json: %s", b)
	}
	for i, d := range r.Denoise {
		if math.Abs(js.Denoise[i].Ratio-d.Ratio) > 1e-12*d.Ratio || js.Denoise[i].Sigma != d.Sigma {
			t.Errorf("σ %g: CLI ratio %v, library %v", d.Sigma, js.Denoise[i].Ratio, d.Ratio)
		}
	}
	samples, err := datasets.LoadNPY(filepath.Join(out, "samples.npy"))
	if err != nil || len(samples.Shape) != 3 || samples.Shape[0] != 3 {
		t.Errorf("samples.npy: %v %v", err, samples)
	}

	// errors
	same := reportData(t, filepath.Join(dir, "same.h5"), 2, "3")
	small := filepath.Join(dir, "small.npy")
	if err := datasets.SaveNPY(small, []int{3, 8, 8}, make([]float64, 192)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"non-empty out", []string{"--data", held, "--train", train, "--out", out}, "is not empty"},
		{"same file", []string{"--data", train, "--train", train, "--out", filepath.Join(dir, "r1")}, "are the same file"},
		{"same seed", []string{"--data", same, "--train", train, "--out", filepath.Join(dir, "r2")}, "same seed 3"},
		{"resolution", []string{"--data", small, "--train", train, "--out", filepath.Join(dir, "r3")}, "--data: fields of 8×8, the network takes 16×16"},
		{"count", []string{"--data", held, "--train", train, "--out", filepath.Join(dir, "r4"), "--count", "-1"}, "--count -1"},
		{"sigma", []string{"--data", held, "--train", train, "--out", filepath.Join(dir, "r5"), "--sigmas", "1,-2"}, "σ factor -2"},
	} {
		rootCmd.SetArgs(append([]string{"prior", "report", "--weights", weights, "--config", config, "--samples", "2", "--steps", "2",
			"--sigmas", "1", "--count", "256", "--force=false"}, c.args...))
		err := rootCmd.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
