package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/enkg-go/enkg/datasets"
)

// TestSolveGradientBaselinesUNetPrior: `enkg solve` runs DPS, forward-GSG, central-GSG and
// DPG with prior.kind unet (the 16² reference network C, our JSON description with a
// normalisation, so the solver runs in the network's space) on the linear-Gaussian problem,
// backpropagating through the network, and reports finite metrics and the denoiser VJPs. (The
// network has random weights: only the wiring is tested, not the quality of the result.)
func TestSolveGradientBaselinesUNetPrior(t *testing.T) {
	dir := t.TempDir()
	desc := ourDescription(t, dir)
	truth := make([]float64, 256)
	for i := range truth {
		truth[i] = 0.3 + math.Sin(float64(i)/7)
	}
	tf := saveNPY(t, filepath.Join(dir, "truth.npy"), []int{16, 16}, truth)
	cfg := solveWriteConfig(t, `
problem: {kind: linear-gaussian, size: 16, stride: 2, noise: 0.05}
prior: {kind: unet}
truth: {file: `+tf+`}
algorithm:
  schedule: {kind: edm, steps: 10, sigma_max: 80, sigma_min: 0.002}
  dps: {members: 2, scale: 1, queries: 4, batch_size: 2, mu: 0.01}
  dpg: {members: 2, scale: 1, mc_samples: 4, batch_size: 2}
`)
	for _, alg := range []string{"dps", "forward-gsg", "central-gsg", "dpg"} {
		out := filepath.Join(dir, alg)
		rootCmd.SetArgs([]string{"solve", "--config", cfg, "--out", out, "--progress=false", "--force=false",
			"--set", "prior.weights=" + filepath.Join(unetRef, "BCD_weights.npz"), "--set", "prior.config=" + desc,
			"--set", "algorithm.name=" + alg})
		if err := rootCmd.Execute(); err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		var m struct {
			Metrics map[string]float64 `json:"metrics"`
			Counts  struct {
				DenoiserVJP int64 `json:"denoiser_vjp"`
			} `json:"counts"`
		}
		b, err := os.ReadFile(filepath.Join(out, "metrics.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Counts.DenoiserVJP != 10*2 {
			t.Errorf("%s: %d denoiser VJPs, want 20: %s", alg, m.Counts.DenoiserVJP, b)
		}
		if v, ok := m.Metrics["rel_l2"]; !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s: rel_l2 %v: %s", alg, v, b)
		}
		ens, err := datasets.LoadNPY(filepath.Join(out, "ensemble.npy"))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range ens.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: ensemble value %d is %v", alg, k, v)
			}
		}
	}
}
