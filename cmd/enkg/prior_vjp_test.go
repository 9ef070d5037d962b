package main

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion/unet"
)

var unetRef = filepath.Join("..", "..", "diffusion", "unet", "testdata")

// ourDescription writes case C's network as our JSON description (format enkg-unet/1) with
// a normalisation, the second description format `prior denoise` and `prior vjp` accept.
func ourDescription(t *testing.T, dir string) string {
	t.Helper()
	spec, err := unet.LoadSpec(filepath.Join(unetRef, "C_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	spec.Normalization = unet.Normalization{Mean: 0.3, Std: 2}
	b, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ours.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func saveNPY(t *testing.T, path string, shape []int, data []float64) string {
	t.Helper()
	if err := datasets.SaveNPY(path, shape, data); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPriorVJP runs `enkg prior vjp` on case C (EDMPrecond + SongUNet, 3 images of 1×16×16)
// with the reference <case>_config.json and σ per image (one of them 0), and with our JSON
// description (normalised), (N, H, W) arrays, one σ for all and a float32 output, and
// compares G with unet.Model.DenoiseVJPEach called directly.
func TestPriorVJP(t *testing.T) {
	dir := t.TempDir()
	xa, err := datasets.LoadNPY(filepath.Join(unetRef, "C_x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	n := xa.Shape[0]
	rnd := rand.New(rand.NewPCG(1, 2))
	v := make([]float64, len(xa.Data))
	for i := range v {
		v[i] = rnd.NormFloat64()
	}
	weights := filepath.Join(unetRef, "BCD_weights.npz")
	for _, c := range []struct {
		name, config string
		shape        []int
		sigma        []float64
		f32          bool
	}{
		{"reference", filepath.Join(unetRef, "C_config.json"), xa.Shape, []float64{0.4, 0, 3}, false},
		{"ours", ourDescription(t, dir), []int{n, 16, 16}, []float64{1.5}, true},
	} {
		xp := saveNPY(t, filepath.Join(dir, c.name+"_x.npy"), c.shape, xa.Data)
		vp := saveNPY(t, filepath.Join(dir, c.name+"_v.npy"), c.shape, v)
		sp := saveNPY(t, filepath.Join(dir, c.name+"_s.npy"), []int{len(c.sigma)}, c.sigma)
		out := filepath.Join(dir, "sub", c.name+"_G.npy")
		rootCmd.SetArgs([]string{"prior", "vjp", "--weights", weights, "--config", c.config, "--x", xp,
			"--sigma", sp, "--v", vp, "--out", out, "--workers", "2", "--float32=" + map[bool]string{true: "true", false: "false"}[c.f32]})
		if err := rootCmd.Execute(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := datasets.LoadNPY(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Shape) != len(c.shape) || got.Shape[0] != n || c.f32 != (got.Dtype == "<f4") {
			t.Fatalf("%s: shape %v dtype %s, want %v", c.name, got.Shape, got.Dtype, c.shape)
		}
		m, err := unet.Load(weights, c.config, unet.Settings{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		sig := c.sigma
		if len(sig) == 1 {
			sig = []float64{sig[0], sig[0], sig[0]}
		}
		want := mat.NewDense(n, m.Dim(), nil)
		if err := m.DenoiseVJPEach(context.Background(), want, mat.NewDense(n, m.Dim(), xa.Data), mat.NewDense(n, m.Dim(), v), sig); err != nil {
			t.Fatal(err)
		}
		var md, mw float64
		for i, w := range want.RawMatrix().Data {
			if c.f32 {
				w = float64(float32(w))
			}
			md = max(md, math.Abs(got.Data[i]-w))
			mw = max(mw, math.Abs(w))
		}
		if md != 0 || mw == 0 {
			t.Errorf("%s: max|G_cli − G_lib| = %g (max|G| %g), want 0 (same computation)", c.name, md, mw)
		}
		if c.name == "reference" {
			// σ = 0: D(x; 0) = x, so G = v.
			for k := 0; k < m.Dim(); k++ {
				if g := got.Data[m.Dim()+k]; g != v[m.Dim()+k] {
					t.Fatalf("σ = 0: G[1][%d] = %g, want v = %g", k, g, v[m.Dim()+k])
				}
			}
		}
	}
}

// TestPriorVJPErrors: every malformed input is an error naming the flag and what is
// wrong, and nothing is written.
func TestPriorVJPErrors(t *testing.T) {
	dir := t.TempDir()
	w, cfg := filepath.Join(unetRef, "BCD_weights.npz"), filepath.Join(unetRef, "C_config.json")
	x, s := filepath.Join(unetRef, "C_x.npy"), filepath.Join(unetRef, "C_sigma.npy")
	v := saveNPY(t, filepath.Join(dir, "v.npy"), []int{3, 1, 16, 16}, make([]float64, 768))
	v2 := saveNPY(t, filepath.Join(dir, "v2.npy"), []int{2, 16, 16}, make([]float64, 512))
	v8 := saveNPY(t, filepath.Join(dir, "v8.npy"), []int{3, 1, 8, 8}, make([]float64, 192))
	nanV := make([]float64, 768)
	nanV[300] = math.NaN()
	vNaN := saveNPY(t, filepath.Join(dir, "vnan.npy"), []int{3, 1, 16, 16}, nanV)
	neg := saveNPY(t, filepath.Join(dir, "neg.npy"), []int{3}, []float64{1, -1, 1})
	s2 := saveNPY(t, filepath.Join(dir, "s2.npy"), []int{2}, []float64{1, 2})
	s39 := saveNPY(t, filepath.Join(dir, "s39.npy"), []int{1}, []float64{1e39})
	huge := make([]float64, 768)
	for i := range huge {
		huge[i] = 1e300
	}
	xHuge := saveNPY(t, filepath.Join(dir, "xhuge.npy"), []int{3, 1, 16, 16}, huge)
	out := filepath.Join(dir, "G.npy")
	old := []byte("an earlier output")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"weights for another network", []string{"--weights", filepath.Join(unetRef, "A_weights.npz"), "--config", cfg, "--x", x, "--sigma", s, "--v", v}, "has shape"},
		{"v resolution", []string{"--weights", w, "--config", cfg, "--x", x, "--sigma", s, "--v", v8}, "--v " + v8 + ": shape [3 1 8 8], want (N, 1, 16, 16) or (N, 16, 16)"},
		{"v count", []string{"--weights", w, "--config", cfg, "--x", x, "--sigma", s, "--v", v2}, "2 cotangents"},
		{"v NaN", []string{"--weights", w, "--config", cfg, "--x", x, "--sigma", s, "--v", vNaN}, "image 1 holds NaN at flat index 44"},
		{"sigma count", []string{"--weights", w, "--config", cfg, "--x", x, "--sigma", s2, "--v", v}, "2 values"},
		{"sigma negative", []string{"--weights", w, "--config", cfg, "--x", x, "--sigma", neg, "--v", v}, "value 1 is -1"},
		{"workers", []string{"--weights", w, "--config", cfg, "--x", x, "--sigma", s, "--v", v, "--workers", "-1"}, "--workers -1 < 0"},
		{"out is an input", []string{"--weights", w, "--config", cfg, "--x", x, "--sigma", s, "--v", v, "--out", v}, "output is also an input"},
		{"out is a directory", []string{"--weights", w, "--config", cfg, "--x", x, "--sigma", s, "--v", v, "--out", dir}, "directory"},
		{"sigma overflow", []string{"--weights", w, "--config", cfg, "--x", x, "--sigma", s39, "--v", v}, "non-finite value"},
		{"x overflow", []string{"--weights", w, "--config", cfg, "--x", xHuge, "--sigma", s, "--v", v}, "non-finite value"},
	} {
		if err := os.WriteFile(out, old, 0o644); err != nil {
			t.Fatal(err)
		}
		rootCmd.SetArgs(append([]string{"prior", "vjp", "--out", out, "--workers", "0"}, c.args...))
		err := rootCmd.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		sameBytes(t, out, old)
	}
}

// TestPriorDenoiseThreeDim: `prior denoise` takes (N, H, W) for a one-channel network, as
// `prior vjp` does, and writes D in that shape.
func TestPriorDenoiseThreeDim(t *testing.T) {
	dir := t.TempDir()
	xa, err := datasets.LoadNPY(filepath.Join(unetRef, "C_x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	x := saveNPY(t, filepath.Join(dir, "x.npy"), []int{3, 16, 16}, xa.Data)
	out := filepath.Join(dir, "D.npy")
	rootCmd.SetArgs([]string{"prior", "denoise", "--weights", filepath.Join(unetRef, "BCD_weights.npz"), "--config", filepath.Join(unetRef, "C_config.json"),
		"--x", x, "--sigma", filepath.Join(unetRef, "C_sigma.npy"), "--out", out, "--float32=false"})
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	got, err := datasets.LoadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := datasets.LoadNPY(filepath.Join(unetRef, "C_D.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Shape) != 3 {
		t.Fatalf("shape %v, want (3, 16, 16)", got.Shape)
	}
	var md, mr float64
	for i, w := range want.Data {
		md, mr = max(md, math.Abs(got.Data[i]-w)), max(mr, math.Abs(w))
	}
	if md > 1e-5*mr {
		t.Errorf("max|D − D_torch| = %.3g > 1e-5·%.3g", md, mr)
	}
}
