package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
)

// TestSolvePosteriorConfig runs configs/linear-gaussian-posterior.yaml with a smaller
// ensemble (J = 64; the shipped J = 512 takes about 20 s on 2 cores) and checks the outputs
// of the posterior sampler: std.npy, interval.png, calibration.png and the metrics of
// metrics.json.
func TestSolvePosteriorConfig(t *testing.T) {
	out := t.TempDir()
	o := solveOptions{config: filepath.Join("..", "..", "configs", "linear-gaussian-posterior.yaml"), out: out,
		sets: []string{"algorithm.posterior.members=64"}}
	if err := runSolve(context.Background(), o, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"std.npy", "interval.png", "calibration.png", "ensemble.npy", "metrics.json", "config.yaml"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	std, err := datasets.LoadNPY(filepath.Join(out, "std.npy"))
	if err != nil || len(std.Shape) != 2 || std.Shape[0] != 16 {
		t.Errorf("std.npy shape %v (err %v), want (16, 16)", std.Shape, err)
	}
	var m struct {
		Method  string             `json:"method"`
		Members int                `json:"members"`
		Metrics map[string]float64 `json:"metrics"`
		Counts  struct {
			Forward int64 `json:"forward"`
		} `json:"counts"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Method != "posterior" || m.Members != 64 {
		t.Errorf("metrics.json: %s", b)
	}
	for _, k := range []string{"ess_min", "acceptance_mean", "stages", "moves", "std_mean", "std_median", "coverage_50", "coverage_90", "coverage_95", "rel_l2_to_posterior_mean"} {
		if _, ok := m.Metrics[k]; !ok {
			t.Errorf("metrics.json lacks %s", k)
		}
	}
	// J·(1 + moves) forward evaluations.
	if want := int64(64 * (1 + int(m.Metrics["moves"]))); m.Counts.Forward != want {
		t.Errorf("%d forward evaluations, want %d", m.Counts.Forward, want)
	}
	if c := m.Metrics["coverage_90"]; c < 0.7 || c > 1 {
		t.Errorf("coverage_90 %.3f with J = 64", c)
	}
	// The calibration curve (calibration.png's points): nested intervals cover more.
	prev := 0.0
	for _, k := range []string{"coverage_10", "coverage_20", "coverage_30", "coverage_40", "coverage_50", "coverage_60",
		"coverage_70", "coverage_80", "coverage_90", "coverage_95", "coverage_99"} {
		c, ok := m.Metrics[k]
		if !ok || c < prev || c > 1 {
			t.Errorf("%s = %v (present %v) after %v: want a non-decreasing curve in [0, 1]", k, c, ok, prev)
		}
		prev = c
	}
	if _, err := os.Stat(filepath.Join(out, "calibration.png")); err != nil {
		t.Error(err)
	}
}

func TestSolvePosteriorBadSettings(t *testing.T) {
	cfg := filepath.Join("..", "..", "configs", "linear-gaussian-posterior.yaml")
	for _, c := range []struct{ set, key string }{
		{"algorithm.posterior.members=3", "algorithm.posterior.members"},
		{"algorithm.posterior.ess_fraction=1", "algorithm.posterior.ess_fraction"},
		{"algorithm.posterior.moves=0", "algorithm.posterior.moves"},
		{"algorithm.posterior.final_moves=0", "algorithm.posterior.final_moves"},
		{"algorithm.posterior.max_moves=0", "algorithm.posterior.max_moves"},
		{"algorithm.posterior.decorrelation=1", "algorithm.posterior.decorrelation"},
		{"algorithm.posterior.target_acceptance=1.2", "algorithm.posterior.target_acceptance"},
		{"algorithm.posterior.initial_step=0", "algorithm.posterior.initial_step"},
		{"algorithm.posterior.steps=0", "algorithm.posterior.steps"},
		{"algorithm.posterior.sigma_min=0", "algorithm.posterior.sigma_min"},
		{"algorithm.posterior.sigma_max=0.001", "algorithm.posterior.sigma_max"},
		{"algorithm.posterior.rho=0", "algorithm.posterior.rho"},
		{"algorithm.posterior.max_stages=0", "algorithm.posterior.max_stages"},
		{"algorithm.posterior.memebers=64", "memebers"},
	} {
		err := runSolve(context.Background(), solveOptions{config: cfg, out: t.TempDir(), sets: []string{c.set}}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("--set %s: err = %v, want it to name %s", c.set, err, c.key)
		}
	}
}
