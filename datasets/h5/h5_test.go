package h5

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/internal/memlimit"
)

// member returns the test field of member m: f[x, y] = 0.125x − 0.3y + m + 0.01·(xy),
// computed with the same IEEE operations (so bit for bit) by the h5py scripts below.
func member(m, nx, ny int) []float64 {
	f := make([]float64, nx*ny)
	for x := range nx {
		for y := range ny {
			f[x*ny+y] = 0.125*float64(x) - 0.3*float64(y) + float64(m) + 0.01*float64(x*y)
		}
	}
	return f
}

func equalBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func TestWriteReadResume(t *testing.T) {
	const n, nx, ny = 4, 6, 10
	p := filepath.Join(t.TempDir(), "f.h5")
	f, err := Create(p, n, nx, ny, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{2, 0} {
		if err := f.WriteMember(i, member(i, nx, ny)); err != nil {
			t.Fatal(err)
		}
	}
	if pend, err := f.Pending(); err != nil || fmt.Sprint(pend) != "[1 3]" {
		t.Fatalf("pending %v %v", pend, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Resume: only members 1 and 3 are left.
	f, err = Resume(p, "")
	if err != nil {
		t.Fatal(err)
	}
	pend, err := f.Pending()
	if err != nil || fmt.Sprint(pend) != "[1 3]" {
		t.Fatalf("resumed pending %v %v", pend, err)
	}
	for _, i := range pend {
		if err := f.WriteMember(i, member(i, nx, ny)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	f, err = Open(p, DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if gn, gx, gy := f.Shape(); gn != n || gx != nx || gy != ny {
		t.Fatalf("shape (%d,%d,%d)", gn, gx, gy)
	}
	dst := make([]float64, nx*ny)
	for i := range n {
		if err := f.ReadMember(dst, i); err != nil {
			t.Fatal(err)
		}
		if !equalBits(dst, member(i, nx, ny)) {
			t.Fatalf("member %d differs", i)
		}
	}
	all := make([]float64, 2*nx*ny)
	if err := f.ReadMembers(all, 2, 2); err != nil || !equalBits(all[:nx*ny], member(2, nx, ny)) || !equalBits(all[nx*ny:], member(3, nx, ny)) {
		t.Errorf("ReadMembers: %v", err)
	}
	if err := f.ReadMembers(all, 3, 2); err == nil || !strings.Contains(err.Error(), "member 4 out of range") {
		t.Errorf("ReadMembers past the end: %v", err)
	}
	if ok, err := f.Done(3); !ok || err != nil {
		t.Errorf("Done(3) = %v %v", ok, err)
	}
	if err := f.WriteMember(0, dst); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("write to read-only file: %v", err)
	}
}

func TestSettings(t *testing.T) {
	const nx, ny = 64, 64
	dir := t.TempDir()
	sizes := map[string]int64{}
	for _, s := range []Settings{{}, {Float32: true}, {Deflate: 6}, {Name: "w", Float32: true, Deflate: 4}} {
		p := filepath.Join(dir, fmt.Sprintf("%+v.h5", s))
		f, err := Create(p, 3, nx, ny, &s)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := f.WriteMember(i, member(i, nx, ny)); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if f, err = Open(p, s.Name); err != nil {
			t.Fatal(err)
		}
		dst := make([]float64, nx*ny)
		for i := range 3 {
			if err := f.ReadMember(dst, i); err != nil {
				t.Fatal(err)
			}
			want := member(i, nx, ny)
			if s.Float32 {
				for k := range want {
					want[k] = float64(float32(want[k]))
				}
			}
			if !equalBits(dst, want) {
				t.Fatalf("%+v: member %d differs", s, i)
			}
		}
		f.Close()
		st, _ := os.Stat(p)
		sizes[fmt.Sprintf("%+v", s)] = st.Size()
	}
	// This smooth field compresses; float32 halves the data.
	plain, f32, defl := sizes[fmt.Sprintf("%+v", Settings{})], sizes[fmt.Sprintf("%+v", Settings{Float32: true})], sizes[fmt.Sprintf("%+v", Settings{Deflate: 6})]
	if !(f32 < plain*6/10 && defl < plain*9/10) {
		t.Errorf("file sizes: plain %d, float32 %d, deflate %d", plain, f32, defl)
	}
	t.Logf("3 members of 64²: plain %d B, float32 %d B, deflate-6 %d B", plain, f32, defl)
}

// TestChecksum corrupts one byte of a member's data: with Settings.Checksum the read
// fails; without, it silently returns a different field (why the option exists).
func TestChecksum(t *testing.T) {
	const nx, ny = 16, 16
	for _, sum := range []bool{true, false} {
		p := filepath.Join(t.TempDir(), "c.h5")
		f, err := Create(p, 2, nx, ny, &Settings{Checksum: sum})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := f.WriteMember(i, member(i, nx, ny)); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		raw, _ := os.ReadFile(p)
		// Find member 1's bytes (its first value, 1.0, as little-endian float64 followed
		// by the second) and flip a bit in the middle of the chunk.
		var pat []byte
		for _, v := range member(1, nx, ny)[:2] {
			pat = binary.LittleEndian.AppendUint64(pat, math.Float64bits(v))
		}
		at := bytes.Index(raw, pat)
		if at < 0 {
			t.Fatal("member 1 not found in the file")
		}
		raw[at+8*nx*ny/2] ^= 0x10
		os.WriteFile(p, raw, 0o644)
		f, err = Open(p, "")
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float64, nx*ny)
		err = f.ReadMember(dst, 1)
		f.Close()
		if sum {
			if err == nil || !strings.Contains(err.Error(), "reading member 1") {
				t.Errorf("checksum: corrupted member read without error")
			} else {
				t.Logf("checksum: %v", err)
			}
		} else if err != nil || equalBits(dst, member(1, nx, ny)) {
			t.Errorf("no checksum: err %v, unchanged %v", err, equalBits(dst, member(1, nx, ny)))
		}
	}
}

func TestAppend(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.h5")
	f, err := Create(p, 0, 3, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	for m := range 3 {
		i, err := f.Append(member(m, 3, 5))
		if err != nil || i != m {
			t.Fatalf("Append %d: %d %v", m, i, err)
		}
	}
	f.Close()
	f, err = Resume(p, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Append(member(3, 3, 5)); err != nil {
		t.Fatal(err)
	}
	if pend, err := f.Pending(); err != nil || len(pend) != 0 || f.Len() != 4 {
		t.Fatalf("after append: pending %v, len %d, %v", pend, f.Len(), err)
	}
	dst := make([]float64, 15)
	if err := f.ReadMember(dst, 3); err != nil || !equalBits(dst, member(3, 3, 5)) {
		t.Fatalf("member 3: %v", err)
	}
	f.Close()
}

func TestGenerateResume(t *testing.T) {
	const n, nx, ny = 7, 4, 6
	p := filepath.Join(t.TempDir(), "gen.h5")
	f, err := Create(p, n, nx, ny, nil)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	fn := func(ctx context.Context, worker, i int, dst []float64) error {
		if worker < 0 || worker >= 2 {
			return fmt.Errorf("worker %d out of range", worker)
		}
		calls.Add(1)
		copy(dst, member(i, nx, ny))
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	var written atomic.Int64
	err = Generate(ctx, f, 2, fn, func(int) {
		if written.Add(1) == 3 {
			cancel() // interrupt after three members
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Generate: %v", err)
	}
	f.Close()
	first := calls.Load()

	f, err = Resume(p, "")
	if err != nil {
		t.Fatal(err)
	}
	pend, _ := f.Pending()
	if len(pend) != n-int(written.Load()) {
		t.Fatalf("pending %v after %d written", pend, written.Load())
	}
	calls.Store(0)
	if err := Generate(context.Background(), f, 2, fn, nil); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != int64(len(pend)) {
		t.Errorf("resumed run computed %d members, want the %d pending (first run computed %d)", calls.Load(), len(pend), first)
	}
	dst := make([]float64, nx*ny)
	for i := range n {
		if err := f.ReadMember(dst, i); err != nil || !equalBits(dst, member(i, nx, ny)) {
			t.Fatalf("member %d: %v", i, err)
		}
	}
	boom := errors.New("boom")
	if err := Generate(context.Background(), f, 1, func(context.Context, int, int, []float64) error { return boom }, nil); err != nil {
		t.Errorf("nothing pending, yet: %v", err)
	}
	f.Close()
	f, _ = Create(filepath.Join(t.TempDir(), "e.h5"), 2, 2, 2, nil)
	defer f.Close()
	if err := Generate(context.Background(), f, 1, func(context.Context, int, int, []float64) error { return boom }, nil); !errors.Is(err, boom) || !strings.Contains(err.Error(), "member 0") {
		t.Errorf("failing member: %v", err)
	}
}

func TestAttributes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "attr.h5")
	f, err := Create(p, 1, 2, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(SetAttr(f, "forcing", "kolmogorov −4cos(4y)"))
	must(SetAttr(f, "re", 200.0))
	must(SetAttr(f, "seed", int64(-7)))
	must(SetAttr(f, "grid", []float64{2 * math.Pi, 2 * math.Pi}))
	must(SetAttr(f, "empty", []float64{}))
	must(f.SetAttr("steps", 967))
	must(SetAttr(f, "re", 500.0)) // replace
	must(f.SetAttr("seed", "now a string"))
	if err := f.SetAttr("bad", []int{1}); err == nil || !strings.Contains(err.Error(), "unsupported type []int") {
		t.Errorf("unsupported type: %v", err)
	}
	if s, err := Attr[string](f, "forcing"); err != nil || s != "kolmogorov −4cos(4y)" {
		t.Errorf("forcing = %q %v", s, err)
	}
	if v, err := Attr[float64](f, "re"); err != nil || v != 500 {
		t.Errorf("re = %v %v", v, err)
	}
	if v, err := Attr[int64](f, "steps"); err != nil || v != 967 {
		t.Errorf("steps = %v %v", v, err)
	}
	if v, err := Attr[float64](f, "steps"); err != nil || v != 967 {
		t.Errorf("steps as float64 = %v %v", v, err)
	}
	if v, err := Attr[[]float64](f, "grid"); err != nil || !reflect.DeepEqual(v, []float64{2 * math.Pi, 2 * math.Pi}) {
		t.Errorf("grid = %v %v", v, err)
	}
	if _, err := Attr[int64](f, "re"); err == nil || !strings.Contains(err.Error(), "is float64, not int64") {
		t.Errorf("float as int64: %v", err)
	}
	if _, err := Attr[float64](f, "missing"); err == nil || !strings.Contains(err.Error(), `attribute "missing"`) {
		t.Errorf("missing attribute: %v", err)
	}
	names, err := f.AttrNames()
	if err != nil || fmt.Sprint(names) != "[empty forcing grid re seed steps]" {
		t.Errorf("names %v %v", names, err)
	}
	m, err := f.Attrs()
	if err != nil || len(m) != 6 || m["seed"] != "now a string" || m["steps"] != int64(967) {
		t.Errorf("attrs %v %v", m, err)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.h5")
	f, err := Create(good, 2, 4, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.WriteMember(2, make([]float64, 16)); err == nil || !strings.Contains(err.Error(), "member 2 out of range [0, 2)") {
		t.Errorf("out of range: %v", err)
	}
	if err := f.WriteMember(0, make([]float64, 15)); err == nil || !strings.Contains(err.Error(), "field length 15, want 4×4 = 16") {
		t.Errorf("length: %v", err)
	}
	bad := make([]float64, 16)
	bad[5] = math.NaN()
	if err := f.WriteMember(1, bad); err == nil || !strings.Contains(err.Error(), "non-finite value NaN at index 5") {
		t.Errorf("NaN: %v", err)
	}
	if err := f.ReadMember(make([]float64, 16), -1); err == nil {
		t.Error("negative member: no error")
	}
	_ = f.WriteMember(0, make([]float64, 16))
	f.Close()
	if err := f.ReadMember(make([]float64, 16), 0); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("read after close: %v", err)
	}
	if _, err := Create(good, 1, 2, 2, nil); err == nil || !strings.Contains(err.Error(), "file exists") {
		t.Errorf("create over existing: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "x.h5"), 1, 0, 2, nil); err == nil || !strings.Contains(err.Error(), "impossible shape") {
		t.Errorf("bad shape: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "nodir", "x.h5"), 1, 2, 2, nil); err == nil || !strings.Contains(err.Error(), "nodir") {
		t.Errorf("bad dir: %v", err)
	}

	raw, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		path, name, want string
	}{
		{filepath.Join(dir, "missing.h5"), "", "no such file"},
		{write("text.h5", []byte("not hdf5 at all")), "", "not an HDF5 file"},
		{write("empty.h5", nil), "", "not an HDF5 file"},
		{write("half.h5", raw[:len(raw)/2]), "", ""},
		{write("head.h5", raw[:600]), "", ""},
		{write("superblock.h5", raw[:3000]), "", "truncated file"},
		{good, "nope", `dataset "nope": no such dataset`},
		{good, "fields_done", "rank 1"},
	} {
		f, err := Open(c.path, c.name)
		if err == nil {
			// A truncated file may still open when the cut spares the metadata; reading the
			// data must then fail or return what was there.
			dst := make([]float64, 16)
			err = f.ReadMember(dst, 0)
			f.Close()
			if err == nil {
				t.Logf("%s: opened and read despite damage", filepath.Base(c.path))
				continue
			}
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: error %v, want %q", filepath.Base(c.path), c.name, err, c.want)
		}
		// libhdf5 names a truncated superblock "sblock": that is damage, not a lock.
		if errors.Is(err, ErrLocked) {
			t.Errorf("%s: a damaged file reported as locked: %v", filepath.Base(c.path), err)
		}
		t.Logf("%s: %v", filepath.Base(c.path), err)
	}
	if _, err := Open(filepath.Join(dir, "missing.h5"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file does not wrap os.ErrNotExist: %v", err)
	}
}

// python returns /usr/bin/python3 when it can import h5py and numpy, or skips.
func python(t testing.TB) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("skipping: %s not found (install Debian python3-h5py for the interop tests)", py)
	}
	if out, err := exec.Command(py, "-c", "import h5py, numpy").CombinedOutput(); err != nil {
		t.Skipf("skipping: %s cannot import h5py (install Debian python3-h5py): %v %s", py, err, out)
	}
	return py
}

const pyMember = `
import sys, h5py, numpy as np
def member(m, nx, ny):
    x = np.arange(nx)[:, None]; y = np.arange(ny)[None, :]
    return 0.125 * x - 0.3 * y + m + 0.01 * (x * y)
`

// TestH5pyReadsOurs writes a file here and checks values, shape, dtype, chunking,
// compression and attributes with h5py.
func TestH5pyReadsOurs(t *testing.T) {
	py := python(t)
	p := filepath.Join(t.TempDir(), "ours.h5")
	const n, nx, ny = 3, 8, 6
	f, err := Create(p, n, nx, ny, &Settings{Deflate: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := f.WriteMember(i, member(i, nx, ny)); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []error{
		f.SetAttr("re", 200.0),
		f.SetAttr("seed", int64(42)),
		f.SetAttr("forcing", "kolmogorov"),
		f.SetAttr("grid", []float64{1, 2.5}),
	} {
		if e != nil {
			t.Fatal(e)
		}
	}
	f.Close()
	script := pyMember + `
f = h5py.File(sys.argv[1], 'r')
d = f['fields']
assert d.shape == (3, 8, 6) and d.dtype == np.float64, (d.shape, d.dtype)
assert d.chunks == (1, 8, 6) and d.compression == 'gzip' and d.shuffle, (d.chunks, d.compression)
for m in range(3):
    assert np.array_equal(d[m], member(m, 8, 6)), m
assert list(f['fields_done'][:]) == [1, 1, 1]
a = d.attrs
assert a['re'] == 200.0 and isinstance(a['re'], np.float64), repr(a['re'])
assert a['seed'] == 42 and isinstance(a['seed'], np.int64), repr(a['seed'])
assert a['forcing'] == 'kolmogorov' and isinstance(a['forcing'], str), repr(a['forcing'])
assert np.array_equal(a['grid'], [1, 2.5]), repr(a['grid'])
print('ok')
`
	out, err := exec.Command(py, "-c", script, p).CombinedOutput()
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
}

// TestOursReadsH5py reads datasets and attributes written by h5py: float64, float32,
// big-endian, integer, compressed and 2-D datasets; str, bytes, float, float32, int and
// array attributes.
func TestOursReadsH5py(t *testing.T) {
	py := python(t)
	p := filepath.Join(t.TempDir(), "h5py.h5")
	script := pyMember + `
f = h5py.File(sys.argv[1], 'w')
stack = np.stack([member(m, 5, 7) for m in range(3)])
d = f.create_dataset('f64', data=stack)
d.attrs['re'] = 200.0
d.attrs['steps'] = 967
d.attrs['name'] = 'kolmogorov'
d.attrs['fixed'] = np.bytes_(b'abc')
d.attrs['f32'] = np.float32(0.1)
d.attrs['grid'] = np.array([1.0, 2.0, 3.0])
d.attrs['ints'] = np.array([3, 4], dtype=np.int32)
f.create_dataset('f32', data=stack.astype(np.float32))
f.create_dataset('be', data=stack.astype('>f8'))
f.create_dataset('gz', data=stack, chunks=(1, 5, 7), compression='gzip')
f.create_dataset('i16', data=np.arange(3 * 5 * 7, dtype=np.int16).reshape(3, 5, 7))
f.create_dataset('two', data=member(0, 5, 7))
f.create_dataset('str', data='hello')
f.create_dataset('rank4', data=np.zeros((1, 2, 3, 4)))
f.close()
`
	if out, err := exec.Command(py, "-c", script, p).CombinedOutput(); err != nil {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
	dst := make([]float64, 35)
	for _, name := range []string{"f64", "f32", "be", "gz", "i16", "two"} {
		f, err := Open(p, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n, nx, ny := f.Shape()
		if nx != 5 || ny != 7 || (name == "two") != (n == 1) {
			t.Errorf("%s: shape (%d,%d,%d)", name, n, nx, ny)
		}
		if pend, err := f.Pending(); err != nil || len(pend) != 0 {
			t.Errorf("%s: pending %v %v", name, pend, err)
		}
		for i := range n {
			if err := f.ReadMember(dst, i); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := member(i, 5, 7)
			for k := range want {
				switch name {
				case "f32":
					want[k] = float64(float32(want[k]))
				case "i16":
					want[k] = float64(i*35 + k)
				}
			}
			if !equalBits(dst, want) {
				t.Errorf("%s: member %d = %v, want %v", name, i, dst[:3], want[:3])
			}
		}
		if name == "f64" {
			m, err := f.Attrs()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"re": 200.0, "steps": int64(967), "name": "kolmogorov", "fixed": "abc",
				"f32": float64(float32(0.1)), "grid": []float64{1, 2, 3}, "ints": []int64{3, 4},
			}
			if !reflect.DeepEqual(m, want) {
				t.Errorf("attrs %#v, want %#v", m, want)
			}
			if v, err := Attr[[]float64](f, "ints"); err != nil || !reflect.DeepEqual(v, []float64{3, 4}) {
				t.Errorf("ints as []float64: %v %v", v, err)
			}
		}
		f.Close()
	}
	for name, want := range map[string]string{"str": "string datatype", "rank4": "rank 4"} {
		if _, err := Open(p, name); err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	if _, err := Resume(p, "f64"); err == nil || !strings.Contains(err.Error(), "cannot resume") {
		t.Errorf("resume h5py file: %v", err)
	}
}

// BenchmarkMember writes and reads one 128×128 float64 member: HDF5 (chunked, flushed
// after each write for resumability; plain and shuffle+deflate-4) against the baseline of
// writing/reading the same field as its own .npy file.
func BenchmarkMember(b *testing.B) {
	const nx, ny, n = 128, 128, 16
	fields := make([][]float64, n)
	for i := range fields {
		fields[i] = member(i, nx, ny)
	}
	dir := b.TempDir()
	for _, s := range []Settings{{}, {Checksum: true}, {Deflate: 4}} {
		label := "h5"
		switch {
		case s.Deflate > 0:
			label = "h5_deflate4"
		case s.Checksum:
			label = "h5_checksum"
		}
		p := filepath.Join(dir, label+".h5")
		f, err := Create(p, n, nx, ny, &s)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("write/"+label, func(b *testing.B) {
			b.SetBytes(8 * nx * ny)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := f.WriteMember(i%n, fields[i%n]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		for i := range n {
			if err := f.WriteMember(i, fields[i]); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
		if f, err = Open(p, ""); err != nil {
			b.Fatal(err)
		}
		dst := make([]float64, nx*ny)
		b.Run("read/"+label, func(b *testing.B) {
			b.SetBytes(8 * nx * ny)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := f.ReadMember(dst, i%n); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		if err := f.ReadMember(dst, 3); err != nil || !equalBits(dst, fields[3]) {
			b.Fatalf("member 3 read back wrong: %v", err)
		}
		f.Close()
	}
	p := filepath.Join(dir, "m.npy")
	if err := datasets.SaveNPY(p, []int{nx, ny}, fields[0]); err != nil {
		b.Fatal(err)
	}
	b.Run("write/npy_file", func(b *testing.B) {
		b.SetBytes(8 * nx * ny)
		b.ReportAllocs()
		for b.Loop() {
			if err := datasets.SaveNPY(p, []int{nx, ny}, fields[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read/npy_file", func(b *testing.B) {
		b.SetBytes(8 * nx * ny)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := datasets.LoadNPY(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// holdEnv makes the test binary, run as a child by holdOpen, keep a file open for writing
// (Resume) until its stdin closes: another process writing the file.
const holdEnv = "ENKG_H5_TEST_HOLD"

func TestMain(m *testing.M) {
	if p := os.Getenv(holdEnv); p != "" {
		f, err := Resume(p, "")
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		f.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holdOpen starts a child process that holds path open for writing, and returns a function
// that ends it.
func holdOpen(t *testing.T, path string) func() {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		in.Close()
		cmd.Wait()
		t.Fatalf("holder: %q", line)
	}
	return func() {
		in.Close()
		cmd.Wait()
	}
}

// TestOverwriteSparesFileInUse: issue 15 — Create with Overwrite truncated a file another
// process was writing (before libhdf5's lock check could fail), and opening a locked file
// was reported as a bad dataset.
func TestOverwriteSparesFileInUse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "busy.h5")
	f, err := Create(p, 2, 4, 4, &Settings{Attrs: map[string]any{"seed": int64(3)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.WriteMember(0, member(0, 4, 4)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	release := holdOpen(t, p)
	defer release()
	before, _ := os.ReadFile(p) // as the holder has it (opening for writing marks the superblock)
	if _, err := Create(p, 5, 8, 8, &Settings{Overwrite: true}); !errors.Is(err, ErrLocked) {
		t.Fatalf("overwrite of a file in use: err = %v, want ErrLocked", err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Fatal("overwrite changed a file another process holds")
	}
	for _, open := range []func(string, string) (*File, error){Resume, Open} {
		_, err := open(p, "")
		if !errors.Is(err, ErrLocked) || errors.Is(err, ErrFormat) {
			t.Fatalf("opening a file in use: err = %v, want ErrLocked and not ErrFormat", err)
		}
		if strings.Contains(err.Error(), ErrFormat.Error()) {
			t.Fatalf("message calls a locked file bad: %v", err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	release()
	f, err = Create(p, 1, 8, 8, &Settings{Overwrite: true})
	if err != nil {
		t.Fatalf("overwrite after release: %v", err)
	}
	if n, nx, _ := f.Shape(); n != 1 || nx != 8 {
		t.Fatalf("shape %d %d", n, nx)
	}
	f.Close()
}

// TestCreateFirstWriterRace: issue 15 — two first-time writers both passed the existence
// check and the second truncated the first's file. Now the loser fails with fs.ErrExist and
// the winner's file is untouched.
func TestCreateFirstWriterRace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "race.h5")
	testBeforeCommit = func() {
		if err := os.WriteFile(p, []byte("the other writer's file"), 0o644); err != nil {
			t.Error(err)
		}
	}
	defer func() { testBeforeCommit = nil }()
	if _, err := Create(p, 1, 4, 4, nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "the other writer's file" {
		t.Fatalf("the first writer's file was changed: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

// TestCreateRefusesSpecialPaths: a directory or a device is never an output.
func TestCreateRefusesSpecialPaths(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, os.DevNull} {
		if _, err := Create(p, 1, 4, 4, &Settings{Overwrite: true}); err == nil {
			t.Errorf("Create(%s) accepted", p)
		}
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&os.ModeDevice == 0 {
		t.Fatalf("%s replaced", os.DevNull)
	}
}

// TestCreateAttrs: Settings.Attrs are in the file when it appears.
func TestCreateAttrs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.h5")
	f, err := Create(p, 1, 4, 4, &Settings{Attrs: map[string]any{"re": 200.0, "who": "me"}})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	g, err := Open(p, "")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if v, err := Attr[float64](g, "re"); err != nil || v != 200 {
		t.Fatalf("re = %v, %v", v, err)
	}
}

// TestDtypeAndHugeMask: Dtype reports the stored type (issue 15: --float32 on resume was not
// checked), and a done mask too large for memory is an error, not a crash (issue 15: a stub
// file of 10¹² members crashed data info).
func TestDtypeAndHugeMask(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f32.h5")
	f, err := Create(p, 1, 4, 4, &Settings{Float32: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.Dtype() != "float32" {
		t.Fatalf("Dtype = %q", f.Dtype())
	}
	f.Close()
	g, err := Open(p, "")
	if err != nil {
		t.Fatal(err)
	}
	if g.Dtype() != "float32" {
		t.Fatalf("reopened Dtype = %q", g.Dtype())
	}
	g.Close()

	big := filepath.Join(dir, "big.h5")
	f, err = Create(big, 1_000_000_000_000, 4, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Setenv(memlimit.Env, "1G")
	if _, err := f.Pending(); !errors.Is(err, memlimit.ErrTooLarge) || !strings.Contains(err.Error(), "1000000000000 members") {
		t.Fatalf("Pending of 10¹² members: err = %v", err)
	}
}
