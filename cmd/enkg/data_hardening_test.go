package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/datasets/h5"
	"github.com/enkg-go/enkg/internal/memlimit"
)

// Regression tests of issue 15 (hardening) for `enkg data`.

// noFile fails if path exists: a refused run must not leave a stub behind.
func noFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("%s was created by a refused run", path)
	}
}

// TestDataHugeRequests: --res 100000 and --n 10¹² ran out of memory with a stack dump (the
// second after leaving a stub file); now they fail first with an error naming the size.
func TestDataHugeRequests(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.h5")
	o := dataNSTestOptions(out, 1)
	o.res = 100000
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--res must be even, ≥ 4 and ≤ 8192, got 100000") {
		t.Errorf("data ns --res 100000: %v", err)
	}
	o = dataNSTestOptions(out, 1)
	o.n = 1_000_000_000_000
	err := runDataNS(context.Background(), o, &bytes.Buffer{})
	if !errors.Is(err, memlimit.ErrTooLarge) || !strings.Contains(err.Error(), "1000000000000 fields of 16×16") {
		t.Errorf("data ns --n 1e12: %v", err)
	}
	noFile(t, out)
	b := dataBHTestOptions(out, 1)
	b.n = 1_000_000_000_000
	if err := runDataBlackHole(context.Background(), b, &bytes.Buffer{}); !errors.Is(err, memlimit.ErrTooLarge) {
		t.Errorf("data blackhole --n 1e12: %v", err)
	}
	b = dataBHTestOptions(out, 1)
	b.res = 100000
	if err := runDataBlackHole(context.Background(), b, &bytes.Buffer{}); !errors.Is(err, memlimit.ErrTooLarge) || !strings.Contains(err.Error(), "100000×100000") {
		t.Errorf("data blackhole --res 100000: %v", err)
	}
	noFile(t, out)
	// The workers' solvers count: 8192² needs some GiB per worker.
	t.Setenv(memlimit.Env, "2G")
	o = dataNSTestOptions(out, 4)
	o.res = 8192
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); !errors.Is(err, memlimit.ErrTooLarge) {
		t.Errorf("data ns --res 8192 under a 2 GiB limit: %v", err)
	}
	noFile(t, out)
}

// lockFile holds an flock(2) lock on path as libhdf5 in another process does while it writes
// the file, until the returned function is called.
func lockFile(t *testing.T, path string) func() {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		t.Skipf("no flock: %v", err)
	}
	return func() { f.Close() }
}

// TestDataOverwriteFileInUse: `data ns --overwrite` destroyed a file another process was
// writing, and the lock error recommended --overwrite and called the file a bad dataset.
func TestDataOverwriteFileInUse(t *testing.T) {
	out := filepath.Join(t.TempDir(), "busy.h5")
	o := dataNSTestOptions(out, 1)
	o.n = 1
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(out)
	release := lockFile(t, out)
	defer release()
	o.n = 2 // pending work, so a resume would write
	err := runDataNS(context.Background(), o, &bytes.Buffer{})
	if !errors.Is(err, h5.ErrLocked) || strings.Contains(err.Error(), "--overwrite") || strings.Contains(err.Error(), h5.ErrFormat.Error()) {
		t.Errorf("resume of a file in use: %v", err)
	}
	o.overwrite = true
	err = runDataNS(context.Background(), o, &bytes.Buffer{})
	if !errors.Is(err, h5.ErrLocked) || !strings.Contains(err.Error(), "does not replace a file in use") {
		t.Errorf("--overwrite of a file in use: %v", err)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Error("--overwrite changed a file in use")
	}
	release()
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err != nil {
		t.Errorf("--overwrite after release: %v", err)
	}
}

// TestDataResumeChecksFloat32: --float32 on an existing float64 file was silently ignored.
func TestDataResumeChecksFloat32(t *testing.T) {
	out := filepath.Join(t.TempDir(), "a.h5")
	o := dataNSTestOptions(out, 1)
	o.n = 1
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	o.float32 = true
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "stores float64, not float32") {
		t.Errorf("--float32 on a float64 file: %v", err)
	}
}

// TestDataExportFlags: --count -5 exported everything; --out equal to the input, a
// directory or a device must be refused.
func TestDataExportFlags(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "a.h5")
	o := dataNSTestOptions(in, 1)
	o.n = 2
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "a.npy")
	for _, c := range []struct {
		o    dataExportOptions
		want string
	}{
		{dataExportOptions{in: in, out: out, count: -5}, "--count must be ≥ 1, or -1"},
		{dataExportOptions{in: in, out: out, count: 0}, "--count must be ≥ 1, or -1"},
		{dataExportOptions{in: in, out: out, first: -1, count: -1}, "--first must be ≥ 0"},
		{dataExportOptions{in: in, out: out, first: 1, count: 2}, "--first 1 --count 2 asks for members 1–2: " + in + " holds 2 (members 0–1)"},
		{dataExportOptions{in: in, out: out, first: 3, count: -1}, "--first 3 is past the last member: " + in + " holds 2 (members 0–1)"},
		{dataExportOptions{in: in, out: out, first: 2, count: 1}, "--first 2 is past the last member"},
		{dataExportOptions{in: in, out: in, count: -1}, "output is also an input"},
		{dataExportOptions{in: in, out: dir, count: -1}, "is a directory"},
		{dataExportOptions{in: in, out: os.DevNull, count: -1}, "special file"},
	} {
		if err := runDataExport(c.o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.o, err, c.want)
		}
	}
	noFile(t, out)
	if err := runDataExport(dataExportOptions{in: in, out: out, first: 1, count: -1}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if a, err := datasets.LoadNPY(out); err != nil || a.Shape[0] != 1 {
		t.Fatalf("export: %v %v", a, err)
	}
	if _, err := h5.Open(in, ""); err != nil {
		t.Fatalf("input damaged: %v", err)
	}
}

// TestDataProgressOnInterrupt: the progress bar jumped to 100 % on SIGINT.
func TestDataProgressOnInterrupt(t *testing.T) {
	out := filepath.Join(t.TempDir(), "a.h5")
	o := dataNSTestOptions(out, 1)
	o.quiet = false
	ctx, cancel := context.WithCancel(context.Background())
	dataNSAfterWrite = func(int) { cancel() }
	defer func() { dataNSAfterWrite = nil }()
	var log bytes.Buffer
	err := runDataNS(ctx, o, &log)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(log.String(), "100%") {
		t.Errorf("an interrupted run shows 100 %%: %q", log.String())
	}
}

// TestDataNegativeWorkers: one rule for zero and negative flags: --workers 0 is documented
// (all cores), a negative value is an error.
func TestDataNegativeWorkers(t *testing.T) {
	out := filepath.Join(t.TempDir(), "a.h5")
	o := dataNSTestOptions(out, -2)
	if err := runDataNS(context.Background(), o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--workers must be ≥ 0") {
		t.Errorf("data ns --workers -2: %v", err)
	}
	b := dataBHTestOptions(out, -1)
	if err := runDataBlackHole(context.Background(), b, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--workers must be ≥ 0") {
		t.Errorf("data blackhole --workers -1: %v", err)
	}
	noFile(t, out)
}

// TestDataInfoHugeFile: a stub file of 10¹² members (left by an out-of-memory run before
// the fix) crashed data info and data export; now they fail with a memory error.
func TestDataInfoHugeFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "stub.h5")
	f, err := h5.Create(p, 1_000_000_000_000, 16, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := runDataInfo(p, "", &bytes.Buffer{}); !errors.Is(err, memlimit.ErrTooLarge) {
		t.Errorf("data info: %v", err)
	}
	err = runDataExport(dataExportOptions{in: p, out: filepath.Join(dir, "x.npy"), count: -1}, &bytes.Buffer{})
	if !errors.Is(err, memlimit.ErrTooLarge) {
		t.Errorf("data export: %v", err)
	}
}
