package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion/unet"
)

// priorTrainArgs are `enkg prior train` arguments with every flag a test may change set
// explicitly (cobra keeps flag values between Execute calls of the same command).
func priorTrainArgs(data, out string, extra ...string) []string {
	return append([]string{"prior", "train", "--data", data, "--config", filepath.Join(unetRef, "C_config.json"), "--out", out,
		"--steps", "2", "--batch", "2", "--val-count", "4", "--lr", "1e-3", "--warmup", "4", "--seed", "1", "--quiet",
		"--resume=false", "--init", "", "--p-mean", "-1.2", "--p-std", "1.2"}, extra...)
}

// maxRelDiff returns max |a−b| / max |b| over the tensors of b (all of which a must hold;
// names compared without the "model." prefix of EDMPrecond state_dicts).
func maxRelDiff(t *testing.T, a, b map[string]*datasets.Array) float64 {
	t.Helper()
	num, den := 0.0, 0.0
	for k, vb := range b {
		va, ok := a[strings.TrimPrefix(k, "model.")]
		if !ok || len(va.Data) != len(vb.Data) {
			t.Fatalf("tensor %s: %v against %v", k, va, vb.Shape)
		}
		for i, v := range vb.Data {
			num = math.Max(num, math.Abs(va.Data[i]-v))
			den = math.Max(den, math.Abs(v))
		}
	}
	return num / den
}

// TestPriorTrainInit: `prior train` writes a loadable prior from EDM's random
// initialisation; with --init it starts from the given weights (one step at a negligible
// learning rate returns them), and a fine-tuning run with a moved σ distribution trains.
func TestPriorTrainInit(t *testing.T) {
	dir := t.TempDir()
	data := reportData(t, filepath.Join(dir, "train.h5"), 12, "3")
	init := filepath.Join(unetRef, "BCD_weights.npz")
	want, err := datasets.LoadNPZ(init)
	if err != nil {
		t.Fatal(err)
	}

	// train runs `prior train` into dir/out and returns the weights it wrote.
	train := func(out string, extra ...string) map[string]*datasets.Array {
		t.Helper()
		out = filepath.Join(dir, out)
		rootCmd.SetArgs(priorTrainArgs(data, out, extra...))
		if err := rootCmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if _, err := unet.Load(filepath.Join(out, "weights.npz"), filepath.Join(out, "config.json"), unet.Settings{}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"loss.csv", "validation.csv", "loss.png"} {
			if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s: %v", f, err)
			}
		}
		w, err := datasets.LoadNPZ(filepath.Join(out, "weights.npz"))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	if d := maxRelDiff(t, train("scratch"), want); d < 0.1 {
		t.Errorf("a run without --init ends %.3g (relative) from the --init weights: not a fresh initialisation?", d)
	}
	if d := maxRelDiff(t, train("kept", "--init", init, "--steps", "1", "--lr", "1e-12", "--warmup", "0"), want); d > 1e-6 {
		t.Errorf("--init, one step at lr 1e-12: the weights moved %.3g (relative) from the initial ones", d)
	}
	if d := maxRelDiff(t, train("tuned", "--init", init, "--steps", "3", "--p-mean", "0.5", "--p-std", "0.5"), want); !(d > 1e-5) {
		t.Errorf("--init, 3 steps at lr 1e-3: the weights moved %.3g (relative) only", d)
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"init architecture", []string{"--init", filepath.Join(unetRef, "A_weights.npz")}, "does not fit --config"},
		{"init missing", []string{"--init", filepath.Join(dir, "none.npz")}, "--init"},
		{"p-std", []string{"--p-std", "0"}, "--p-std > 0"},
		{"p-mean", []string{"--p-mean", "NaN"}, "--p-mean NaN"},
	} {
		rootCmd.SetArgs(priorTrainArgs(data, filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")), c.args...))
		err := rootCmd.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
