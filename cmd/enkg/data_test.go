package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/datasets/h5"
	"github.com/enkg-go/enkg/pde"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

func dataNSTestOptions(out string, workers int) dataNSOptions {
	return dataNSOptions{n: 4, res: 16, spinup: 0.25, re: 100, seed: 3, alpha: 2.5, tau: 7, out: out, workers: workers, quiet: true}
}

func readAllMembers(t *testing.T, path string) [][]float64 {
	t.Helper()
	f, err := h5.Open(path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, nx, ny := f.Shape()
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, nx*ny)
		if err := f.ReadMember(out[i], i); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sameMembers(a, b [][]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		for k := range a[i] {
			if math.Float64bits(a[i][k]) != math.Float64bits(b[i][k]) {
				return false
			}
		}
	}
	return true
}

func TestDataNS(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.h5")
	var log bytes.Buffer
	if err := runDataNS(context.Background(), dataNSTestOptions(a, 2), &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "wrote 4 fields 16×16") {
		t.Errorf("log %q", log.String())
	}
	got := readAllMembers(t, a)

	// Member 1 is the GRF drawn from stream (3, 1), solved to T = 0.25 at Re = 100.
	g, _ := spectral.NewGRF(16, 16, spectral.GRFSettings{Alpha: 2.5, Tau: 7})
	w0 := make([]float64, 256)
	g.Sample(w0, rng.Stream(3, 1))
	s := pde.DefaultSettings()
	s.Re = 100
	solver, err := pde.NewSolver(16, 16, &s)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, 256)
	if err := solver.Solve(context.Background(), want, w0, 0.25); err != nil {
		t.Fatal(err)
	}
	if !sameMembers([][]float64{got[1]}, [][]float64{want}) {
		t.Fatal("member 1 differs from a direct GRF + solve")
	}

	// Attributes.
	f, _ := h5.Open(a, "")
	re, err1 := h5.Attr[float64](f, "re")
	seed, err2 := h5.Attr[int64](f, "seed")
	ver, err3 := h5.Attr[string](f, "enkg_version")
	f.Close()
	if re != 100 || seed != 3 || ver == "" || err1 != nil || err2 != nil || err3 != nil {
		t.Errorf("attributes re=%v seed=%v version=%q (%v %v %v)", re, seed, ver, err1, err2, err3)
	}

	// One worker gives the same dataset.
	b := filepath.Join(dir, "b.h5")
	if err := runDataNS(context.Background(), dataNSTestOptions(b, 1), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !sameMembers(got, readAllMembers(t, b)) {
		t.Error("1 worker and 2 workers differ")
	}

	// Interrupt after the first member written, then resume.
	c := filepath.Join(dir, "c.h5")
	ctx, cancel := context.WithCancel(context.Background())
	dataNSAfterWrite = func(int) { cancel() }
	err = runDataNS(ctx, dataNSTestOptions(c, 1), &bytes.Buffer{})
	dataNSAfterWrite = nil
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted run: %v", err)
	}
	log.Reset()
	var computed int
	dataNSAfterWrite = func(int) { computed++ }
	err = runDataNS(context.Background(), dataNSTestOptions(c, 1), &log)
	dataNSAfterWrite = nil
	if err != nil {
		t.Fatal(err)
	}
	if computed != 3 || !strings.Contains(log.String(), "1 of 4 members already done, computing 3") {
		t.Errorf("resume computed %d members; log %q", computed, log.String())
	}
	if !sameMembers(got, readAllMembers(t, c)) {
		t.Error("interrupted + resumed run differs from an uninterrupted one")
	}

	// A complete file is left alone.
	log.Reset()
	if err := runDataNS(context.Background(), dataNSTestOptions(c, 1), &log); err != nil || !strings.Contains(log.String(), "is complete (4 fields 16×16), nothing to do") {
		t.Errorf("rerun on a complete file: %v %q", err, log.String())
	}

	// info and export.
	var info bytes.Buffer
	if err := runDataInfo(c, "", &info); err != nil || !strings.Contains(info.String(), "4 fields 16×16, 4 written, 0 pending") || !strings.Contains(info.String(), "re = 100") {
		t.Errorf("info: %v\n%s", err, info.String())
	}
	npy := filepath.Join(dir, "x.npy")
	if err := runDataExport(dataExportOptions{in: c, out: npy, first: 1, count: 2}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	arr, err := datasets.LoadNPY(npy)
	if err != nil || fmt.Sprint(arr.Shape) != "[2 16 16]" || !sameMembers([][]float64{arr.Data}, [][]float64{append(append([]float64{}, got[1]...), got[2]...)}) {
		t.Errorf("export: %v %v", arr, err)
	}
	if err := runDataExport(dataExportOptions{in: c, out: npy, first: 3, count: 2}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "asks for members 3–4") {
		t.Errorf("export out of range: %v", err)
	}

	// Resuming with different settings is refused; --overwrite starts over.
	o := dataNSTestOptions(a, 1)
	o.re = 150
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "made with re = 100, not 150") {
		t.Errorf("mismatched resume: %v", err)
	}
	o.n = 5
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "holds (4, 16, 16) fields") {
		t.Errorf("mismatched n: %v", err)
	}
	o.overwrite, o.n = true, 2
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err != nil {
		t.Errorf("overwrite: %v", err)
	}
}

func TestDataNSBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.h5")
	for _, c := range []struct {
		mod  func(*dataNSOptions)
		want string
	}{
		{func(o *dataNSOptions) { o.out = "" }, "--out is required"},
		{func(o *dataNSOptions) { o.n = 0 }, "--n must be ≥ 1"},
		{func(o *dataNSOptions) { o.res = 15 }, "--res must be even"},
		{func(o *dataNSOptions) { o.re = -1 }, "--re must be finite and > 0"},
		{func(o *dataNSOptions) { o.spinup = math.NaN() }, "--spinup"},
		{func(o *dataNSOptions) { o.dt = -1 }, "--dt"},
		{func(o *dataNSOptions) { o.tau = -1 }, "data ns:"},
		{func(o *dataNSOptions) { o.out = filepath.Join(out, "sub", "x.h5") }, "no such file or directory"},
	} {
		o := dataNSTestOptions(out, 1)
		c.mod(&o)
		if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", o, err, c.want)
		}
	}
}
