package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
	"gonum.org/v1/gonum/mat"
)

// val is the test pattern: element k (C order) of every array the numpy and fixture tests
// exchange. The imaginary part of complex arrays is 1 − 2·val(k). testdata/make_fixtures.py
// and the scripts below compute the same formula in numpy.
func val(k int) float64 { return float64(k-5)*0.375 + 0.001*float64(k) }

// ival is the integer pattern used for integer dtypes: (7k mod 97) − 40 (non-negative
// variant for unsigned and bool dtypes: (7k mod 97) and (k mod 2)).
func ival(k int, kind string) float64 {
	switch kind[0] {
	case 'u':
		return float64(7 * k % 97)
	case 'b':
		return float64(k % 2)
	}
	return float64(7*k%97) - 40
}

// want returns the expected float64 value of element k for a dtype kind.
func want(k int, kind string) float64 {
	switch kind {
	case "f8":
		return val(k)
	case "f4":
		return float64(float32(val(k)))
	case "f2":
		return float64(k)*0.25 - 2 // exactly representable in float16
	}
	return ival(k, kind)
}

func wantComplex(k int, kind string) complex128 {
	re, im := val(k), 1-2*val(k)
	if kind == "c8" {
		return complex(float64(float32(re)), float64(float32(im)))
	}
	return complex(re, im)
}

// checkPattern verifies that a holds the test pattern for its dtype and the given shape.
func checkPattern(t *testing.T, name string, a *Array, shape []int) {
	t.Helper()
	if fmt.Sprint(a.Shape) != fmt.Sprint(shape) {
		t.Errorf("%s: shape %v, want %v", name, a.Shape, shape)
		return
	}
	kind := strings.TrimLeft(a.Dtype, "<>|=")
	n := a.Len()
	if kind[0] == 'c' {
		if len(a.Complex) != n || a.Data != nil {
			t.Errorf("%s: %d complex, %d real values for %d elements", name, len(a.Complex), len(a.Data), n)
			return
		}
		for k, v := range a.Complex {
			if w := wantComplex(k, kind); v != w {
				t.Errorf("%s: element %d = %v, want %v", name, k, v, w)
				return
			}
		}
		return
	}
	if len(a.Data) != n || a.Complex != nil {
		t.Errorf("%s: %d real, %d complex values for %d elements", name, len(a.Data), len(a.Complex), n)
		return
	}
	for k, v := range a.Data {
		if w := want(k, kind); v != w {
			t.Errorf("%s: element %d = %v, want %v", name, k, v, w)
			return
		}
	}
}

// pattern builds an Array of the test pattern with the given dtype and shape.
func pattern(dtype string, shape []int) *Array {
	a := &Array{Shape: shape, Dtype: dtype}
	kind := strings.TrimLeft(dtype, "<>|=")
	n := a.Len()
	if kind[0] == 'c' {
		a.Complex = make([]complex128, n)
		for k := range a.Complex {
			a.Complex[k] = wantComplex(k, "c16")
		}
		return a
	}
	a.Data = make([]float64, n)
	for k := range a.Data {
		if kind == "f4" {
			a.Data[k] = val(k) // rounding to float32 is the writer's job
		} else {
			a.Data[k] = want(k, kind)
		}
	}
	return a
}

func TestNPYRoundTrip(t *testing.T) {
	for _, dtype := range []string{"<f8", "<f4", "<c16", "<c8", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1"} {
		for _, shape := range [][]int{{}, {0}, {3}, {2, 3}, {2, 1, 4}, {0, 5}, {2, 3, 2, 2}} {
			a := pattern(dtype, shape)
			var buf bytes.Buffer
			if err := WriteArray(&buf, a); err != nil {
				t.Fatalf("%s %v: %v", dtype, shape, err)
			}
			d, _ := parseDtype(dtype)
			if (buf.Len()-d.size*a.Len())%64 != 0 {
				t.Errorf("%s %v: header not 64-byte aligned", dtype, shape)
			}
			b, err := ReadNPY(&buf)
			if err != nil {
				t.Fatalf("%s %v: %v", dtype, shape, err)
			}
			if b.Dtype != dtype {
				t.Errorf("%s %v: read dtype %s", dtype, shape, b.Dtype)
			}
			checkPattern(t, dtype+fmt.Sprint(shape), b, shape)
		}
	}
	p := filepath.Join(t.TempDir(), "x.npy")
	if err := SaveNPY(p, []int{2, 2}, []float64{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	a, err := LoadNPY(p)
	if err != nil || a.Data[3] != 4 || a.Dtype != "<f8" {
		t.Fatalf("LoadNPY: %v %v", a, err)
	}
	if err := SaveNPYFloat32(p, []int{3}, []float64{0.1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if a, err = LoadNPY(p); err != nil || a.Dtype != "<f4" || a.Data[0] != float64(float32(0.1)) {
		t.Fatalf("LoadNPY float32: %v %v", a, err)
	}
}

func TestNPYWriteErrors(t *testing.T) {
	cases := []struct {
		a    *Array
		want string
	}{
		{&Array{Shape: []int{2, 2}, Data: make([]float64, 3)}, "holds 4 elements, data has 3"},
		{&Array{Shape: []int{-1}, Data: nil}, "negative dimension"},
		{&Array{Shape: []int{1}, Data: []float64{1.5}, Dtype: "<i8"}, "not representable as i8"},
		{&Array{Shape: []int{1}, Data: []float64{256}, Dtype: "|u1"}, "not representable as u1"},
		{&Array{Shape: []int{1}, Data: []float64{-1}, Dtype: "<u4"}, "not representable as u4"},
		{&Array{Shape: []int{1}, Data: []float64{1}, Dtype: ">f8"}, "cannot write dtype"},
		{&Array{Shape: []int{1}, Data: []float64{1}, Dtype: "<U3"}, "cannot write dtype"},
		{&Array{Shape: []int{1}, Data: []float64{1}, Dtype: "<c16"}, "complex dtype"},
		{&Array{Shape: []int{1}, Complex: []complex128{1}, Dtype: "<f8"}, "real dtype"},
	}
	for _, c := range cases {
		err := WriteArray(&bytes.Buffer{}, c.a)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.a, err, c.want)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.npy")
	if err := SaveNPY(p, []int{3}, []float64{1}); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("SaveNPY shape mismatch: %v", err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("failed SaveNPY left %s behind", p)
	}
}

// TestSaveKeepsExistingOnFailure: issue 15 — a failed save used to truncate and then delete
// a good earlier file; directories and devices as outputs must be refused untouched.
func TestSaveKeepsExistingOnFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "good.npy")
	if err := SaveNPY(p, []int{2}, []float64{1, 2}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	if err := SaveNPY(p, []int{3}, []float64{1}); err == nil {
		t.Fatal("shape mismatch accepted")
	}
	after, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("failed SaveNPY changed the existing file (err %v)", err)
	}
	if err := SaveNPZ(p, map[string]*Array{"a": {Shape: []int{3}, Data: []float64{1}}}); err == nil {
		t.Fatal("bad npz accepted")
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Fatal("failed SaveNPZ changed the existing file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
	if err := SaveNPY(dir, []int{1}, []float64{1}); err == nil {
		t.Fatal("a directory accepted as output")
	}
	if err := SaveNPY(os.DevNull, []int{1}, []float64{1}); err == nil {
		t.Fatal("a device accepted as output")
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&os.ModeDevice == 0 {
		t.Fatalf("%s was replaced: %v %v", os.DevNull, st, err)
	}
}

func TestNPYFortranOrder(t *testing.T) {
	// numpy.asfortranarray(np.arange(6.).reshape(2,3)) stores 0 3 1 4 2 5.
	var buf bytes.Buffer
	h := header("<f8", []int{2, 3})
	h = bytes.Replace(h, []byte("False"), []byte("True "), 1)
	buf.Write(h)
	var tmp bytes.Buffer
	_ = WriteNPY(&tmp, []int{6}, []float64{0, 3, 1, 4, 2, 5})
	buf.Write(tmp.Bytes()[len(header("<f8", []int{6})):])
	a, err := ReadNPY(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{0, 1, 2, 3, 4, 5} {
		if a.Data[i] != want {
			t.Fatalf("C order data %v", a.Data)
		}
	}
	// 3-D: element (i,j,k) of shape (2,3,4) sits at i + 2j + 6k in Fortran order.
	shape := []int{2, 3, 4}
	src := make([]float64, 24)
	for i := range 2 {
		for j := range 3 {
			for k := range 4 {
				src[i+2*j+6*k] = float64(100*i + 10*j + k)
			}
		}
	}
	got := fortranToC(src, shape)
	for i := range 2 {
		for j := range 3 {
			for k := range 4 {
				if v := got[(i*3+j)*4+k]; v != float64(100*i+10*j+k) {
					t.Fatalf("fortranToC (%d,%d,%d) = %v", i, j, k, v)
				}
			}
		}
	}
}

func TestNPYBigEndianAndFloat16(t *testing.T) {
	// >f8 [1.5, -2], >c8 [1+2i], <f2 [1, -0.5, 65504, inf, 2^-24].
	be := append(header(">f8", []int{2}), 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0)
	a, err := ReadNPY(bytes.NewReader(be))
	if err != nil || a.Data[0] != 1.5 || a.Data[1] != -2 {
		t.Fatalf(">f8: %v %v", a, err)
	}
	bc := append(header(">c8", []int{1}), 0x3f, 0x80, 0, 0, 0x40, 0, 0, 0)
	if a, err = ReadNPY(bytes.NewReader(bc)); err != nil || a.Complex[0] != 1+2i {
		t.Fatalf(">c8: %v %v", a, err)
	}
	h := append(header("<f2", []int{5}), 0x00, 0x3c, 0x00, 0xb8, 0xff, 0x7b, 0x00, 0x7c, 0x01, 0x00)
	if a, err = ReadNPY(bytes.NewReader(h)); err != nil {
		t.Fatal(err)
	}
	for i, w := range []float64{1, -0.5, 65504, math.Inf(1), math.Ldexp(1, -24)} {
		if a.Data[i] != w {
			t.Errorf("<f2 element %d = %v, want %v", i, a.Data[i], w)
		}
	}
}

func TestNPYHeaderVariants(t *testing.T) {
	body := []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f} // 1.0
	for _, h := range []string{
		"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
		"{'shape': (1,), 'fortran_order': False, 'descr': '<f8'}\n", // keys in any order
		"{\"descr\": \"<f8\", \"fortran_order\": True, \"shape\": (1L,)}",
		"{'descr':'<f8','fortran_order':False,'shape':(1,)}  \n",
	} {
		b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), 0)
		b = append(append(b, h...), body...)
		a, err := ReadNPY(bytes.NewReader(b))
		if err != nil || a.Data[0] != 1 || len(a.Shape) != 1 {
			t.Errorf("header %q: %v %v", h, a, err)
		}
	}
	// Version 2.0 header with a 4-byte length, as numpy writes for very long headers.
	h := "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n"
	b := append([]byte("\x93NUMPY\x02\x00"), byte(len(h)), 0, 0, 0)
	b = append(append(b, h...), body...)
	if a, err := ReadNPY(bytes.NewReader(b)); err != nil || a.Data[0] != 1 {
		t.Errorf("version 2.0: %v %v", a, err)
	}
	// A shape long enough to need a version 2.0 header when written.
	long := make([]int, 30000)
	for i := range long {
		long[i] = 1
	}
	var buf bytes.Buffer
	if err := WriteNPY(&buf, long, []float64{7}); err != nil {
		t.Fatal(err)
	}
	if buf.Bytes()[6] != 2 {
		t.Errorf("long header written as version %d", buf.Bytes()[6])
	}
	if a, err := ReadNPY(&buf); err != nil || len(a.Shape) != 30000 || a.Data[0] != 7 {
		t.Errorf("long header round trip: %v", err)
	}
}

func TestNPYCorrupt(t *testing.T) {
	var buf bytes.Buffer
	_ = WriteNPY(&buf, []int{4, 4}, make([]float64, 16))
	full := buf.Bytes()
	for _, cut := range []int{0, 5, 9, 20, 64, len(full) - 1} {
		_, err := ReadNPY(bytes.NewReader(full[:cut]))
		if err == nil || !errors.Is(err, ErrFormat) {
			t.Errorf("truncated at %d: error %v", cut, err)
		}
	}
	mk := func(h string) []byte {
		b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
		return append(b, h...)
	}
	cases := []struct {
		in   []byte
		want string
	}{
		{[]byte("PK\x03\x04 not npy"), "not a .npy file"},
		{[]byte("\x93NUMPY\x04\x00\x10\x00"), "unsupported format version 4.0"},
		{[]byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"), "header length"},
		{mk("{'descr': '<f8', 'fortran_order': False}"), `missing key "shape"`},
		{mk("{'descr': '<U3', 'fortran_order': False, 'shape': (1,)}"), `unsupported dtype "<U3"`},
		{mk("{'descr': '|O', 'fortran_order': False, 'shape': (1,)}"), `unsupported dtype "|O"`},
		{mk("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,)}"), "structured dtypes"},
		{mk("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}"), "fortran_order"},
		{mk("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}"), "bad dimension"},
		{mk("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}"), "out of range"},
		{mk("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"), "more than 2^34"},
		{mk("{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} junk"), "trailing text"},
		{mk("{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}"), "unexpected EOF"},
		{mk("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}"), `unexpected key "x"`},
		{mk("{'descr': '<f8"), "unterminated string"},
	}
	for _, c := range cases {
		_, err := ReadNPY(bytes.NewReader(c.in))
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
	// LoadNPY names the file and detects truncation from the file size before reading.
	p := filepath.Join(t.TempDir(), "trunc.npy")
	if err := os.WriteFile(p, full[:len(full)-8], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadNPY(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "needs 128 data bytes, file has 120") {
		t.Errorf("LoadNPY truncated: %v", err)
	}
	if _, err := LoadNPY(filepath.Join(t.TempDir(), "missing.npy")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestNPYAgainstNpyio uses codeberg.org/sbinet/npyio as an independent reference: files
// written here decode with npyio, and files npyio writes decode here.
func TestNPYAgainstNpyio(t *testing.T) {
	a := pattern("<f8", []int{3, 5})
	var buf bytes.Buffer
	if err := WriteNPY(&buf, a.Shape, a.Data); err != nil {
		t.Fatal(err)
	}
	var m mat.Dense
	if err := npy.Read(bytes.NewReader(buf.Bytes()), &m); err != nil {
		t.Fatal(err)
	}
	if r, c := m.Dims(); r != 3 || c != 5 {
		t.Fatalf("npyio dims %d×%d", r, c)
	}
	for i := range 3 {
		for j := range 5 {
			if m.At(i, j) != a.Data[i*5+j] {
				t.Fatalf("npyio (%d,%d) = %v want %v", i, j, m.At(i, j), a.Data[i*5+j])
			}
		}
	}
	var f32 []float32
	buf.Reset()
	_ = WriteNPYFloat32(&buf, []int{15}, a.Data)
	if err := npy.Read(&buf, &f32); err != nil || len(f32) != 15 || f32[4] != float32(a.Data[4]) {
		t.Fatalf("npyio float32: %v %v", f32, err)
	}
	var c []complex128
	buf.Reset()
	z := pattern("<c16", []int{4})
	_ = WriteNPYComplex(&buf, z.Shape, z.Complex)
	if err := npy.Read(&buf, &c); err != nil || len(c) != 4 || c[3] != z.Complex[3] {
		t.Fatalf("npyio complex: %v %v", c, err)
	}

	// npyio → here.
	for _, v := range []any{
		a.Data,
		[]float32{1.5, -2, 3.25},
		[]complex64{1 + 2i, -3},
		[]int16{-7, 8, 9},
		[]uint8{255, 0},
		mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6}),
	} {
		buf.Reset()
		if err := npy.Write(&buf, v); err != nil {
			t.Fatal(err)
		}
		b, err := ReadNPY(&buf)
		if err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		w := flatten(v)
		if got, wantS := fmt.Sprint(b.Data, b.Complex), fmt.Sprint(w[0], w[1]); got != wantS {
			t.Errorf("%T: read %s, want %s", v, got, wantS)
		}
	}
}

func flatten(v any) []any {
	switch v := v.(type) {
	case []float64:
		return []any{v, []complex128(nil)}
	case []float32:
		return []any{[]float64{1.5, -2, 3.25}, []complex128(nil)}
	case []complex64:
		return []any{[]float64(nil), []complex128{1 + 2i, -3}}
	case []int16:
		return []any{[]float64{-7, 8, 9}, []complex128(nil)}
	case []uint8:
		return []any{[]float64{255, 0}, []complex128(nil)}
	case *mat.Dense:
		return []any{v.RawMatrix().Data, []complex128(nil)}
	}
	return nil
}

// python returns the path of a Python 3 with numpy, or skips the test.
func python(t testing.TB, modules ...string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("skipping: %s not found (Debian package python3-numpy provides the interop test dependency)", py)
	}
	imp := "import " + strings.Join(append([]string{"numpy"}, modules...), ", ")
	if out, err := exec.Command(py, "-c", imp).CombinedOutput(); err != nil {
		t.Skipf("skipping: %s cannot %q (install Debian python3-numpy/python3-h5py): %v %s", py, imp, err, out)
	}
	return py
}

// pyPattern is the Python twin of val/ival/want/wantComplex.
const pyPattern = `
import numpy as np, sys, os
def pat(dtype, shape):
    n = int(np.prod(shape, dtype=np.int64))
    k = np.arange(n)
    dt = np.dtype(dtype)
    if dt.kind == 'c':
        v = (k - 5) * 0.375 + 0.001 * k
        a = (v + 1j * (1 - 2 * v)).astype(dt)
    elif dt.kind == 'f' and dt.itemsize == 2:
        a = (k * 0.25 - 2).astype(dt)
    elif dt.kind == 'f':
        a = ((k - 5) * 0.375 + 0.001 * k).astype(dt)
    elif dt.kind == 'u':
        a = (7 * k % 97).astype(dt)
    elif dt.kind == 'b':
        a = (k % 2).astype(dt)
    else:
        a = (7 * k % 97 - 40).astype(dt)
    return a.reshape(shape)
`

var interopCases = []struct {
	name, dtype string
	shape       []int
	fortran     bool
}{
	{"f8_2d", "<f8", []int{3, 4}, false},
	{"f8_scalar", "<f8", []int{}, false},
	{"f8_empty", "<f8", []int{0, 3}, false},
	{"f4_3d", "<f4", []int{2, 3, 4}, false},
	{"f2", "<f2", []int{5}, false},
	{"c16", "<c16", []int{2, 2}, false},
	{"c8", "<c8", []int{3}, false},
	{"f8_be", ">f8", []int{2, 3}, false},
	{"c16_be", ">c16", []int{3}, false},
	{"i4_be", ">i4", []int{4}, false},
	{"f8_fortran_3d", "<f8", []int{2, 3, 4}, true},
	{"c16_fortran", "<c16", []int{3, 2}, true},
	{"f4_fortran", "<f4", []int{4, 3}, true},
	{"i8", "<i8", []int{6}, false},
	{"i2", "<i2", []int{2, 3}, false},
	{"i1", "|i1", []int{5}, false},
	{"u8", "<u8", []int{3}, false},
	{"u2", "<u2", []int{3}, false},
	{"u1", "|u1", []int{7}, false},
	{"bool", "|b1", []int{4}, false},
	{"f8_4d", "<f8", []int{2, 1, 3, 2}, false},
}

// TestNPYFromNumpy reads files written by numpy (np.save, np.savez, np.savez_compressed,
// format versions 1.0, 2.0 and 3.0) and checks every element against the pattern.
func TestNPYFromNumpy(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	var sb strings.Builder
	sb.WriteString(pyPattern + "d = sys.argv[1]\narrs = {}\n")
	for _, c := range interopCases {
		order := "C"
		if c.fortran {
			order = "F"
		}
		fmt.Fprintf(&sb, "a = np.asarray(pat(%q, %s), order=%q)\nassert a.flags.f_contiguous or not %v\nnp.save(os.path.join(d, %q), a)\narrs[%q] = a\n",
			c.dtype, pyTuple(c.shape), order, pyBool(c.fortran), c.name+".npy", c.name)
	}
	sb.WriteString(`np.savez(os.path.join(d, 'stored.npz'), **arrs)
np.savez_compressed(os.path.join(d, 'deflated.npz'), **arrs)
for v in [(2, 0), (3, 0)]:
    with open(os.path.join(d, 'v%d.npy' % v[0]), 'wb') as f:
        np.lib.format.write_array(f, pat('<f8', (2, 3)), version=v)
`)
	if out, err := exec.Command(py, "-c", sb.String(), dir).CombinedOutput(); err != nil {
		t.Fatalf("numpy script: %v\n%s", err, out)
	}
	for _, c := range interopCases {
		a, err := LoadNPY(filepath.Join(dir, c.name+".npy"))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if a.Dtype != c.dtype {
			t.Errorf("%s: dtype %s, want %s", c.name, a.Dtype, c.dtype)
		}
		checkPattern(t, c.name, a, c.shape)
	}
	for _, v := range []string{"v2", "v3"} {
		a, err := LoadNPY(filepath.Join(dir, v+".npy"))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		checkPattern(t, v, a, []int{2, 3})
	}
	for _, z := range []string{"stored.npz", "deflated.npz"} {
		m, err := LoadNPZ(filepath.Join(dir, z))
		if err != nil {
			t.Fatalf("%s: %v", z, err)
		}
		if len(m) != len(interopCases) {
			t.Errorf("%s: %d arrays, want %d", z, len(m), len(interopCases))
		}
		for _, c := range interopCases {
			if a := m[c.name]; a == nil {
				t.Errorf("%s: no %s", z, c.name)
			} else {
				checkPattern(t, z+"/"+c.name, a, c.shape)
			}
		}
	}
}

// TestNPYToNumpy writes files here and checks them with numpy: dtype, shape and every
// element against the pattern, for .npy and .npz (stored and deflated).
func TestNPYToNumpy(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	var entries []NamedArray
	var sb strings.Builder
	sb.WriteString(pyPattern + "d = sys.argv[1]\nz1 = np.load(os.path.join(d, 'stored.npz'))\nz2 = np.load(os.path.join(d, 'deflated.npz'))\n")
	for _, c := range interopCases {
		if c.dtype[0] == '>' || c.fortran || c.dtype == "<f2" {
			continue // written little-endian, C order, no float16
		}
		a := pattern(c.dtype, c.shape)
		if err := SaveArray(filepath.Join(dir, c.name+".npy"), a); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, NamedArray{Name: c.name, Array: a})
		fmt.Fprintf(&sb, `w = pat(%q, %s)
for a in [np.load(os.path.join(d, %q)), z1[%q], z2[%q]]:
    assert a.dtype == w.dtype and a.shape == w.shape, (%q, a.dtype, a.shape)
    assert np.array_equal(a, w), %q
`, c.dtype, pyTuple(c.shape), c.name+".npy", c.name, c.name, c.name, c.name)
	}
	fmt.Fprintf(&sb, "assert list(z1.keys()) == %s, list(z1.keys())\nprint('ok', len(z1.keys()))\n", pyList(entries))
	if err := SaveNPZList(filepath.Join(dir, "stored.npz"), entries, false); err != nil {
		t.Fatal(err)
	}
	if err := SaveNPZList(filepath.Join(dir, "deflated.npz"), entries, true); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", sb.String(), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy check: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("ok %d\n", len(entries)); string(out) != want {
		t.Fatalf("numpy printed %q, want %q", out, want)
	}
}

func pyTuple(shape []int) string {
	var sb strings.Builder
	sb.WriteString("(")
	for _, s := range shape {
		fmt.Fprintf(&sb, "%d,", s)
	}
	return sb.String() + ")"
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func pyList(e []NamedArray) string {
	var s []string
	for _, x := range e {
		s = append(s, "'"+x.Name+"'")
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// TestNPYFixture reads testdata/fixture.npz and testdata/fixture_*.npy, written by numpy
// with testdata/make_fixtures.py (no Python needed at test time).
func TestNPYFixture(t *testing.T) {
	m, err := LoadNPZ(filepath.Join("testdata", "fixture.npz"))
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int{
		"f8": {3, 4}, "f4": {2, 3, 2}, "c16": {2, 2}, "c8": {3}, "i8": {5}, "u1": {4}, "f8_fortran": {3, 4},
		"f8_be": {2, 2},
	}
	if len(m) != len(shapes) {
		t.Errorf("fixture.npz: %d arrays, want %d", len(m), len(shapes))
	}
	for name, shape := range shapes {
		a := m[name]
		if a == nil {
			t.Errorf("fixture.npz: no %q", name)
			continue
		}
		checkPattern(t, "fixture.npz/"+name, a, shape)
	}
	for name, shape := range map[string][]int{"fixture_f8.npy": {3, 4}, "fixture_f4_fortran.npy": {2, 3, 4}, "fixture_c16_be.npy": {3}} {
		a, err := LoadNPY(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		checkPattern(t, name, a, shape)
	}
}

func TestNPZ(t *testing.T) {
	dir := t.TempDir()
	m := map[string]*Array{"b": pattern("<f8", []int{2, 3}), "a": pattern("<c16", []int{3}), "c": pattern("<f4", []int{4})}
	for _, compress := range []bool{false, true} {
		p := filepath.Join(dir, fmt.Sprint(compress)+".npz")
		save := SaveNPZ
		if compress {
			save = SaveNPZCompressed
		}
		if err := save(p, m); err != nil {
			t.Fatal(err)
		}
		list, err := LoadNPZList(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 || list[0].Name != "a" || list[1].Name != "b" || list[2].Name != "c" {
			t.Fatalf("order %v", list)
		}
		for _, e := range list {
			checkPattern(t, e.Name, e.Array, m[e.Name].Shape)
		}
	}
	if err := SaveNPZList(filepath.Join(dir, "dup.npz"), []NamedArray{{"x", pattern("<f8", []int{1})}, {"x", pattern("<f8", []int{1})}}, false); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate names: %v", err)
	}
	// Corrupt archives: not a zip, a flipped byte in a deflated entry, a truncated archive.
	p := filepath.Join(dir, "true.npz")
	good, _ := os.ReadFile(p)
	bad := filepath.Join(dir, "bad.npz")
	for name, b := range map[string][]byte{
		"notzip":    []byte("hello"),
		"truncated": good[:len(good)/2],
		"flipped":   flip(good, 60),
	} {
		_ = os.WriteFile(bad, b, 0o644)
		_, err := LoadNPZ(bad)
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}

// FuzzReadNPY checks that arbitrary bytes give an array or an error, never a panic, and
// that every array read is self-consistent and survives a write/read round trip.
// Seeds: testdata/fuzz/FuzzReadNPY (numpy-written files, regression inputs) and the
// f.Add calls below.
func FuzzReadNPY(f *testing.F) {
	for _, dtype := range []string{"<f8", "<f4", "<c16", "<c8", "<i2", "|u1"} {
		var buf bytes.Buffer
		_ = WriteArray(&buf, pattern(dtype, []int{2, 3}))
		f.Add(buf.Bytes())
	}
	f.Add(append(header(">f8", []int{2}), make([]byte, 16)...))
	f.Add(bytes.Replace(append(header("<f8", []int{2, 2}), make([]byte, 32)...), []byte("False"), []byte("True "), 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ReadNPY(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		n := a.Len()
		if len(a.Data)+len(a.Complex) != n {
			t.Fatalf("shape %v but %d+%d values", a.Shape, len(a.Data), len(a.Complex))
		}
		out := &Array{Shape: a.Shape, Data: a.Data, Complex: a.Complex}
		var buf bytes.Buffer
		if err := WriteArray(&buf, out); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		c, err := ReadNPY(&buf)
		if err != nil {
			t.Fatalf("reread: %v", err)
		}
		if fmt.Sprint(c.Shape) != fmt.Sprint(a.Shape) || !sameBits(c.Data, a.Data) || !sameBitsC(c.Complex, a.Complex) {
			t.Fatalf("round trip changed the array")
		}
	})
}

// FuzzReadNPZ: arbitrary bytes as a .npz archive give arrays or an error, never a panic.
func FuzzReadNPZ(f *testing.F) {
	for _, compress := range []bool{false, true} {
		var buf bytes.Buffer
		_ = WriteNPZ(&buf, []NamedArray{{"a", pattern("<f8", []int{2, 2})}, {"b", pattern("<c8", []int{3})}}, compress)
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := ReadNPZ(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, e := range list {
			if n := e.Array.Len(); len(e.Array.Data)+len(e.Array.Complex) != n {
				t.Fatalf("%s: shape %v but %d+%d values", e.Name, e.Array.Shape, len(e.Array.Data), len(e.Array.Complex))
			}
		}
	})
}

func sameBits(a, b []float64) bool {
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

func sameBitsC(a, b []complex128) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(real(a[i])) != math.Float64bits(real(b[i])) || math.Float64bits(imag(a[i])) != math.Float64bits(imag(b[i])) {
			return false
		}
	}
	return true
}

// BenchmarkNPYWrite writes one 128×128 float64 field: this package (raw header + bytes)
// against npyio's flat-slice writer, both into a reused buffer.
func BenchmarkNPYWrite(b *testing.B) {
	a := pattern("<f8", []int{128, 128})
	var buf bytes.Buffer
	b.Run("enkg", func(b *testing.B) {
		b.SetBytes(8 * 128 * 128)
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := WriteNPY(&buf, a.Shape, a.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("enkg_float32", func(b *testing.B) {
		b.SetBytes(8 * 128 * 128)
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := WriteNPYFloat32(&buf, a.Shape, a.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("npyio", func(b *testing.B) {
		b.SetBytes(8 * 128 * 128)
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := npy.Write(&buf, a.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNPYRead reads one 128×128 float64 field: this package against npyio.
func BenchmarkNPYRead(b *testing.B) {
	a := pattern("<f8", []int{128, 128})
	var buf bytes.Buffer
	_ = WriteNPY(&buf, a.Shape, a.Data)
	raw := buf.Bytes()
	b.Run("enkg", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ReadNPY(bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("npyio", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			var x []float64
			if err := npy.Read(bytes.NewReader(raw), &x); err != nil {
				b.Fatal(err)
			}
		}
	})
}
