package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxBytes encodes an IDX stream; vals are converted to the element type.
func idxBytes(t IDXType, shape []int, vals []float64) []byte {
	b := []byte{0, 0, byte(t), byte(len(shape))}
	for _, s := range shape {
		b = binary.BigEndian.AppendUint32(b, uint32(s))
	}
	for _, v := range vals {
		switch t {
		case IDXUint8, IDXInt8:
			b = append(b, byte(int(v)))
		case IDXInt16:
			b = binary.BigEndian.AppendUint16(b, uint16(int16(v)))
		case IDXInt32:
			b = binary.BigEndian.AppendUint32(b, uint32(int32(v)))
		case IDXFloat32:
			b = binary.BigEndian.AppendUint32(b, math.Float32bits(float32(v)))
		case IDXFloat64:
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestIDXTypes(t *testing.T) {
	cases := []struct {
		typ  IDXType
		vals []float64
	}{
		{IDXUint8, []float64{0, 7, 255, 128, 1, 2}},
		{IDXInt8, []float64{-128, 127, 0, -1, 5, 6}},
		{IDXInt16, []float64{-32768, 32767, 1, -2, 300, 0}},
		{IDXInt32, []float64{-1 << 31, 1<<31 - 1, 0, 42, -42, 7}},
		{IDXFloat32, []float64{1.5, -0.25, 1e30, 0, 3, -7}},
		{IDXFloat64, []float64{math.Pi, -math.E, 1e-300, 0, 1, 2}},
	}
	for _, c := range cases {
		raw := idxBytes(c.typ, []int{2, 3}, c.vals)
		for name, in := range map[string][]byte{"plain": raw, "gzip": gz(raw)} {
			x, err := ReadIDX(bytes.NewReader(in))
			if err != nil {
				t.Fatalf("%v %s: %v", c.typ, name, err)
			}
			if x.Type != c.typ || len(x.Shape) != 2 || x.Shape[0] != 2 || x.Shape[1] != 3 || x.Len() != 6 {
				t.Fatalf("%v %s: type %v shape %v", c.typ, name, x.Type, x.Shape)
			}
			got := x.Float64()
			for k, v := range c.vals {
				if c.typ == IDXFloat32 {
					v = float64(float32(v))
				}
				if got[k] != v {
					t.Errorf("%v %s: element %d = %v, want %v", c.typ, name, k, got[k], v)
				}
			}
		}
	}
	x, _ := ReadIDX(bytes.NewReader(idxBytes(IDXUint8, []int{3, 2}, []float64{0, 255, 51, 102, 0, 0})))
	items, err := x.Items(0, 2, -1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range []float64{-1, 1, -0.6, -0.2} {
		if math.Abs(items[k]-w) > 1e-15 {
			t.Errorf("Items[%d] = %v, want %v", k, items[k], w)
		}
	}
	if _, err := x.Items(2, 2, 0, 1); err == nil {
		t.Error("Items out of range: no error")
	}
}

func TestIDXCorrupt(t *testing.T) {
	good := idxBytes(IDXUint8, []int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "reading magic number"},
		{"magic", append([]byte{1, 0}, good[2:]...), "bad magic number"},
		{"type", append([]byte{0, 0, 0x0A}, good[3:]...), "unknown element type 0x0a"},
		{"ndims0", []byte{0, 0, 8, 0}, "0 dimensions"},
		{"ndims9", []byte{0, 0, 8, 9}, "9 dimensions"},
		{"dims truncated", good[:9], "reading 2 dimensions"},
		{"data truncated", good[:len(good)-1], "truncated"},
		{"trailing", append(bytes.Clone(good), 0), "data continues after the 6 bytes"},
		{"huge", idxBytes(IDXFloat64, []int{1 << 30, 1 << 30}, nil), "too large"},
		{"gzip truncated", gz(good)[:20], "truncated"},
		{"gzip corrupt", flip(gz(good), 25), ""},
		{"gzip header", []byte{0x1f, 0x8b, 1}, "gzip"},
	}
	for _, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.in))
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	p := filepath.Join(t.TempDir(), "bad-idx1-ubyte")
	os.WriteFile(p, good[:len(good)-2], 0o644)
	if _, err := LoadIDX(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "needs 6 data bytes, file has 4") {
		t.Errorf("LoadIDX truncated: %v", err)
	}
}

func TestLoadMNISTLayout(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("train-images-idx3-ubyte.gz", gz(idxBytes(IDXUint8, []int{2, 2, 2}, []float64{1, 2, 3, 4, 5, 6, 7, 8})))
	write("train-labels-idx1-ubyte", idxBytes(IDXUint8, []int{2}, []float64{3, 9}))
	im, lb, err := LoadMNIST(dir, "train")
	if err != nil || im.Shape[0] != 2 || lb.Raw[1] != 9 {
		t.Fatalf("LoadMNIST: %v", err)
	}
	write("t10k-images-idx3-ubyte", idxBytes(IDXUint8, []int{2, 2, 2}, make([]float64, 8)))
	write("t10k-labels-idx1-ubyte", idxBytes(IDXUint8, []int{3}, []float64{1, 2, 3}))
	if _, _, err := LoadMNIST(dir, "t10k"); err == nil || !strings.Contains(err.Error(), "has 2 images but") {
		t.Errorf("count mismatch: %v", err)
	}
	write("t10k-labels-idx1-ubyte", idxBytes(IDXUint8, []int{2}, []float64{1, 12}))
	if _, _, err := LoadMNIST(dir, "t10k"); err == nil || !strings.Contains(err.Error(), "label 1 = 12") {
		t.Errorf("bad label: %v", err)
	}
	if _, _, err := LoadMNIST(dir, "nope"); !errors.Is(err, ErrNoDataset) {
		t.Errorf("missing split: %v", err)
	}
}

// TestFashionMNIST reads the real dataset installed by Debian's dataset-fashion-mnist and
// checks facts published with it (Xiao et al. 2017): 60,000 training and 10,000 test
// images of 28×28, exactly 6,000 / 1,000 images per class, and the training-set pixel mean
// 0.2860 (std 0.3530) on the [0, 1] scale used by common normalisation constants.
func TestFashionMNIST(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		t.Skipf("skipping: %s missing (install Debian package dataset-fashion-mnist)", FashionMNISTDir)
	}
	for _, c := range []struct {
		split    string
		n, class int
	}{{"train", 60000, 6000}, {"t10k", 10000, 1000}} {
		im, lb, err := LoadMNIST(FashionMNISTDir, c.split)
		if err != nil {
			t.Fatal(err)
		}
		if im.Shape[0] != c.n || im.Shape[1] != 28 || im.Shape[2] != 28 {
			t.Fatalf("%s: images shape %v", c.split, im.Shape)
		}
		var counts [10]int
		for _, l := range lb.Raw {
			counts[l]++
		}
		for k, n := range counts {
			if n != c.class {
				t.Errorf("%s: class %d has %d images, want %d", c.split, k, n, c.class)
			}
		}
		if c.split != "train" {
			continue
		}
		var s, s2 float64
		for _, p := range im.Raw {
			v := float64(p) / 255
			s += v
			s2 += v * v
		}
		n := float64(len(im.Raw))
		mean := s / n
		std := math.Sqrt(s2/n - mean*mean)
		if math.Abs(mean-0.2860) > 5e-5 || math.Abs(std-0.3530) > 5e-5 {
			t.Errorf("train pixel mean %.5f std %.5f, want 0.2860 0.3530", mean, std)
		}
		// The first training image is an ankle boot (label 9).
		if lb.Raw[0] != 9 {
			t.Errorf("first training label %d, want 9", lb.Raw[0])
		}
		x, err := im.Items(0, 1, -1, 1)
		if err != nil || len(x) != 784 {
			t.Fatalf("Items: %v", err)
		}
		for _, v := range x {
			if v < -1 || v > 1 {
				t.Fatalf("scaled pixel %v outside [-1, 1]", v)
			}
		}
	}
}

// FuzzReadIDX: arbitrary bytes give an IDX or an error wrapping ErrFormat, never a panic,
// and an IDX read has exactly as many bytes as its shape says.
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(IDXUint8, []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}))
	f.Add(idxBytes(IDXFloat64, []int{2}, []float64{1, 2}))
	f.Add(idxBytes(IDXInt16, []int{1, 1, 2}, []float64{-1, 2}))
	f.Add(gz(idxBytes(IDXInt32, []int{2}, []float64{7, -7})))
	f.Add(gz(idxBytes(IDXFloat32, []int{1}, []float64{1.5})))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		if len(x.Raw) != x.Len()*x.Type.size() {
			t.Fatalf("shape %v type %v but %d bytes", x.Shape, x.Type, len(x.Raw))
		}
		_ = x.Float64()
	})
}
