package main

import (
	"bytes"
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets/h5"
	"github.com/enkg-go/enkg/interferometry"
	"github.com/enkg-go/enkg/rng"
)

func dataBHTestOptions(out string, workers int) dataBHOptions {
	o := dataBHOptions{n: 5, res: 24, fov: 160, seed: 7, out: out, workers: workers, quiet: true, checksum: true, deflate: 4}
	o.gen = interferometry.GeneratorSettings{FluxMin: 0.4, FluxMax: 1.2, RadiusMin: 17, RadiusMax: 26, WidthMin: 2, WidthMax: 6,
		AsymMax: 0.9, ShiftMax: 5, BlurMin: 0, BlurMax: 10, GaussFracMax: 0.2}
	return o
}

func TestDataBlackHole(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "sub", "a.h5")
	var log bytes.Buffer
	if err := runDataBlackHole(context.Background(), dataBHTestOptions(a, 2), &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "wrote 5 images 24×24 (FOV 160 μas)") {
		t.Errorf("log %q", log.String())
	}
	got := readAllMembers(t, a)
	g, _ := interferometry.NewGrid(24, 160)
	for i, img := range got {
		// Member i is RandomImage drawn from stream (7, i), bit for bit.
		want := make([]float64, g.Len())
		if err := interferometry.RandomImage(want, g, dataBHTestOptions("", 1).gen, rng.Stream(7, i)); err != nil {
			t.Fatal(err)
		}
		if !sameMembers([][]float64{img}, [][]float64{want}) {
			t.Fatalf("member %d differs from RandomImage with stream (7, %d)", i, i)
		}
		var flux float64
		for _, v := range img {
			if v < 0 || math.IsNaN(v) {
				t.Fatalf("member %d has a negative or NaN pixel %v", i, v)
			}
			flux += v
		}
		if flux < 0.4-1e-9 || flux > 1.2+1e-9 {
			t.Errorf("member %d: total flux %g outside [0.4, 1.2]", i, flux)
		}
	}
	if sameMembers(got[:1], got[1:2]) {
		t.Error("members 0 and 1 are equal")
	}
	f, _ := h5.Open(a, "")
	fov, err1 := h5.Attr[float64](f, "fov_uas")
	rmax, err2 := h5.Attr[float64](f, "radius_max")
	by, err3 := h5.Attr[string](f, "created_by")
	f.Close()
	if fov != 160 || rmax != 26 || by != "enkg data blackhole" || err1 != nil || err2 != nil || err3 != nil {
		t.Errorf("attributes fov=%v radius_max=%v created_by=%q (%v %v %v)", fov, rmax, by, err1, err2, err3)
	}

	// One worker, interrupted after the first member and resumed, gives the same file.
	c := filepath.Join(dir, "c.h5")
	ctx, cancel := context.WithCancel(context.Background())
	dataBHAfterWrite = func(int) { cancel() }
	err := runDataBlackHole(ctx, dataBHTestOptions(c, 1), &bytes.Buffer{})
	dataBHAfterWrite = nil
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted run: %v", err)
	}
	log.Reset()
	computed := 0
	dataBHAfterWrite = func(int) { computed++ }
	err = runDataBlackHole(context.Background(), dataBHTestOptions(c, 1), &log)
	dataBHAfterWrite = nil
	if err != nil {
		t.Fatal(err)
	}
	if computed != 4 || !strings.Contains(log.String(), "1 of 5 members already done, computing 4") {
		t.Errorf("resume computed %d; log %q", computed, log.String())
	}
	if !sameMembers(got, readAllMembers(t, c)) {
		t.Error("interrupted + resumed 1-worker run differs from the 2-worker run")
	}
	log.Reset()
	if err := runDataBlackHole(context.Background(), dataBHTestOptions(c, 1), &log); err != nil || !strings.Contains(log.String(), "is complete") {
		t.Errorf("rerun on a complete file: %v %q", err, log.String())
	}

	// Different settings are refused on resume.
	o := dataBHTestOptions(c, 1)
	o.gen.BlurMax = 5
	if err := runDataBlackHole(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "made with blur_max = 10, not 5") {
		t.Errorf("mismatched resume: %v", err)
	}

	// h5py reads the same values and attributes.
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import h5py, numpy").Run() != nil {
		py = "/usr/bin/python3"
		if exec.Command(py, "-c", "import h5py, numpy").Run() != nil {
			t.Log("skipping the h5py check: python3 with h5py and numpy not found (Debian python3-h5py)")
			return
		}
	}
	out, err := exec.Command(py, "-c", `
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    d = f["fields"]
    print(d.shape[0], d.shape[1], d.shape[2], repr(float(d[3].sum())), repr(float(d[3][10, 12])), d.attrs["fov_uas"], d.attrs["created_by"])
`, a).CombinedOutput()
	if err != nil {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
	var sum float64
	for _, v := range got[3] {
		sum += v
	}
	fs := strings.Fields(string(out))
	if len(fs) < 9 || fs[0] != "5" || fs[1] != "24" || fs[2] != "24" || fs[5] != "160.0" || strings.Join(fs[6:], " ") != "enkg data blackhole" {
		t.Fatalf("h5py read %q", out)
	}
	pySum, _ := strconv.ParseFloat(fs[3], 64)
	pyPix, _ := strconv.ParseFloat(fs[4], 64)
	if math.Abs(pySum-sum) > 1e-12*sum || pyPix != got[3][10*24+12] {
		t.Errorf("h5py: sum %v pixel %v, want %v %v", pySum, pyPix, sum, got[3][10*24+12])
	}
}

func TestDataBlackHoleBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.h5")
	for _, c := range []struct {
		mod  func(*dataBHOptions)
		want string
	}{
		{func(o *dataBHOptions) { o.out = "" }, "--out is required"},
		{func(o *dataBHOptions) { o.n = 0 }, "--n must be ≥ 1"},
		{func(o *dataBHOptions) { o.res = 1 }, "--res must be ≥ 2"},
		{func(o *dataBHOptions) { o.fov = -1 }, "data blackhole:"},
		{func(o *dataBHOptions) { o.gen.FluxMin = 2 }, "flux range [2, 1.2]"},
		{func(o *dataBHOptions) { o.gen.BlurMax = math.NaN() }, "blur range"},
		{func(o *dataBHOptions) { o.gen.RadiusMin = 5 }, "--radius-min 5 must exceed --width-max 6"},
	} {
		o := dataBHTestOptions(out, 1)
		c.mod(&o)
		if err := runDataBlackHole(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", o, err, c.want)
		}
	}
}
