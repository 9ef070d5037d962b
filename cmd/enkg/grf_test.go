package main

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

func TestGRFSampleFromXi(t *testing.T) {
	dir := t.TempDir()
	// ξ for two 16×16 fields, written as (K, N, N, 2).
	n, k := 16, 2
	xi := make([]float64, k*n*n*2)
	rng.Normal(xi, rng.New(3))
	xiPath := filepath.Join(dir, "xi.npy")
	if err := datasets.SaveNPY(xiPath, []int{k, n, n, 2}, xi); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "w0.npy")
	var log bytes.Buffer
	if err := runGRFSample(context.Background(), grfSampleOptions{alpha: 2.5, tau: 7, length: 2 * math.Pi, xi: xiPath, out: out}, &log); err != nil {
		t.Fatal(err)
	}
	a, err := datasets.LoadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 3 || a.Shape[0] != k || a.Shape[1] != n || a.Shape[2] != n {
		t.Fatalf("shape %v, want [%d %d %d]", a.Shape, k, n, n)
	}
	g, _ := spectral.NewGRF(n, n, spectral.DefaultGRFSettings())
	want := make([]float64, n*n)
	for j := 0; j < k; j++ {
		g.FromNormals(want, xi[2*j*n*n:2*(j+1)*n*n])
		for i := range want {
			if a.Data[j*n*n+i] != want[i] {
				t.Fatalf("field %d differs from GRF.FromNormals at %d", j, i)
			}
		}
	}
	if !strings.Contains(log.String(), "wrote 2 field(s)") {
		t.Errorf("log %q", log.String())
	}
}

func TestGRFSampleSeeded(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "w0.npy")
	o := grfSampleOptions{res: 8, alpha: 2.5, tau: 7, length: 2 * math.Pi, seed: 5, seedSet: true, out: out}
	if err := runGRFSample(context.Background(), o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	a, err := datasets.LoadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 2 || a.Shape[0] != 8 || a.Shape[1] != 8 {
		t.Fatalf("K=1 shape %v, want [8 8]", a.Shape)
	}
	g, _ := spectral.NewGRF(8, 8, spectral.DefaultGRFSettings())
	want := make([]float64, 64)
	g.Sample(want, rng.Stream(5, 0))
	for i := range want {
		if a.Data[i] != want[i] {
			t.Fatal("seeded sample is not member 0 of rng.Stream(seed, ·)")
		}
	}
	// Batch with custom parameters: first field equals the K = 1 output of the same seed.
	o.n, o.workers, o.out = 3, 2, filepath.Join(dir, "b.npy")
	if err := runGRFSample(context.Background(), o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	b, _ := datasets.LoadNPY(o.out)
	if len(b.Shape) != 3 || b.Shape[0] != 3 {
		t.Fatalf("batch shape %v", b.Shape)
	}
	for i := range want {
		if b.Data[i] != want[i] {
			t.Fatal("batch member 0 differs from the single sample")
		}
	}
}

func TestGRFSampleErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "w.npy")
	bad2 := filepath.Join(dir, "bad.npy")
	if err := datasets.SaveNPY(bad2, []int{4, 4}, make([]float64, 16)); err != nil {
		t.Fatal(err)
	}
	nan := filepath.Join(dir, "nan.npy")
	v := make([]float64, 4*4*2)
	v[5] = math.NaN()
	if err := datasets.SaveNPY(nan, []int{4, 4, 2}, v); err != nil {
		t.Fatal(err)
	}
	base := grfSampleOptions{res: 8, alpha: 2.5, tau: 7, length: 2 * math.Pi, out: out}
	for _, c := range []struct {
		name string
		mod  func(*grfSampleOptions)
		want string
	}{
		{"no out", func(o *grfSampleOptions) { o.out = "" }, "--out"},
		{"no res", func(o *grfSampleOptions) { o.res = 0 }, "--res"},
		{"neg n", func(o *grfSampleOptions) { o.n = -1 }, "--n"},
		{"tau", func(o *grfSampleOptions) { o.tau = 0 }, "--tau"},
		{"alpha", func(o *grfSampleOptions) { o.alpha = math.NaN() }, "--alpha"},
		{"sigma", func(o *grfSampleOptions) { o.sigma = -1 }, "--sigma"},
		{"length", func(o *grfSampleOptions) { o.length = math.Inf(1) }, "--length"},
		{"seed and xi", func(o *grfSampleOptions) { o.xi, o.seedSet = bad2, true }, "either --seed or --xi"},
		{"missing xi", func(o *grfSampleOptions) { o.xi = filepath.Join(dir, "none.npy") }, "reading --xi"},
		{"xi shape", func(o *grfSampleOptions) { o.xi = bad2 }, "want (N, N, 2)"},
		{"xi res", func(o *grfSampleOptions) { o.xi = nan; o.res = 8 }, "does not match"},
		{"xi nan", func(o *grfSampleOptions) { o.xi = nan; o.res = 0 }, "non-finite"},
		{"bad out dir", func(o *grfSampleOptions) { o.out = filepath.Join(dir, "no", "w.npy") }, "--out"},
	} {
		o := base
		c.mod(&o)
		err := runGRFSample(context.Background(), o, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
}
